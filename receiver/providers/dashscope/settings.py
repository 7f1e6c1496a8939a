"""The keys of a `provider = "dashscope"` source: apart from the package's declaration so that its
API client can take them without importing the declaration that names the client."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from receiver.sources import SourceConfig
from schemas.dashscope.v1 import DEFAULT_TIME_ZONE, TimeZone


class DashscopeSource(SourceConfig):
    provider: Literal["dashscope"]
    # Beijing; Singapore is https://dashscope-intl.aliyuncs.com, Virginia https://dashscope-us.aliyuncs.com.
    api_base_url: str | None = "https://dashscope.aliyuncs.com"
    # The region's time zone (IANA name): DashScope writes task times in local time without a zone.
    time_zone: TimeZone = DEFAULT_TIME_ZONE

    @model_validator(mode="after")
    def _can_poll(self) -> DashscopeSource:
        """Tasks are only ever polled: a source without a key can never see one."""
        self.require("api_key")
        return self
