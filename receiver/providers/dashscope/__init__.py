"""Alibaba Model Studio (DashScope) async tasks, Wan video synthesis: poll only, with a Bearer key.

DashScope can announce task completion through Alibaba EventBridge, but that envelope is neither
documented for signing nor verified here: tasks are watched and polled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from receiver.providers.base import Provider
from receiver.providers.dashscope.client import DashscopeClient
from receiver.sources import SourceConfig
from schemas.dashscope import SCHEMAS
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


PROVIDER = Provider(
    settings=DashscopeSource,
    schemas=SCHEMAS,
    callbacks=None,
    client=DashscopeClient,
    # The task result API allows 20 queries per second.
    api_rate_limit_per_second=20.0,
)
