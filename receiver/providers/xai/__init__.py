"""xAI Grok Imagine video (`api.x.ai`): poll only; read with a Bearer key, one request a second by default."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from receiver.providers.base import Provider
from receiver.providers.xai.client import XaiClient
from receiver.sources import SourceConfig
from schemas.xai import SCHEMAS


class XaiSource(SourceConfig):
    provider: Literal["xai"]
    api_base_url: str | None = "https://api.x.ai"

    @model_validator(mode="after")
    def _can_poll(self) -> XaiSource:
        """xAI calls nobody back: a source without a key can never see a task."""
        self.require("api_key")
        return self


PROVIDER = Provider(
    settings=XaiSource,
    schemas=SCHEMAS,
    callbacks=None,
    client=XaiClient,
    # xAI's documented limit for its video models, on every tier.
    api_rate_limit_per_second=1.0,
)
