"""Bailian (Quanmiao light app) video analysis: poll only, with AccessKey-signed requests."""

from __future__ import annotations

from typing import Literal

from receiver.clients.base import ResourceClient
from receiver.providers.base import Provider
from receiver.sources import Secret, SourceConfig
from schemas.bailian import SCHEMAS


class BailianSource(SourceConfig):
    provider: Literal["bailian"]
    api_base_url: str | None = "https://quanmiaolightapp.cn-beijing.aliyuncs.com"
    # Polling signs each request with the AccessKey (ACS3-HMAC-SHA256): without these it never works.
    workspace_id: str
    access_key_id: Secret
    access_key_secret: Secret

    @property
    def has_api_credentials(self) -> bool:
        return self.api_base_url is not None


def bailian_client(source: BailianSource) -> ResourceClient:
    """Imported on first use: Alibaba Cloud's SDK takes about a third of a second to import, which
    every command (and every replay's wall time) would pay without a bailian source to poll."""
    from receiver.providers.bailian.client import BailianClient

    return BailianClient(source)


PROVIDER = Provider(settings=BailianSource, schemas=SCHEMAS, callbacks=None, client=bailian_client)
