"""The keys of a `provider = "bailian"` source: apart from the package's declaration so that its
API client can take them without importing the declaration that names the client."""

from __future__ import annotations

from typing import Literal

from receiver.foundation.settings import Secret
from receiver.sources import SourceConfig


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
