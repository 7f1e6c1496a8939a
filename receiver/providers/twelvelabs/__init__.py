"""TwelveLabs: Analyze (Pegasus) and index task webhooks, thin and signed (`TL-Signature`); the task
is fetched for the result when the source has an `api_key`, from the route of its kind (analyze or
indexing), and either kind can be watched."""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.clients.task_path import task_routes_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.twelvelabs import SCHEMAS


class TwelveLabsSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "twelvelabs"
    provider: Literal["twelvelabs"]
    api_base_url: str | None = "https://api.twelvelabs.io"

    def api_headers(self) -> dict[str, str]:
        return {} if self.api_key is None else {"x-api-key": self.api_key.get_secret_value()}


PROVIDER = Provider(
    settings=TwelveLabsSource,
    schemas=SCHEMAS,
    callbacks="thin",
    client=task_routes_client(
        {
            "analysis": ("/v1.3/analyze/tasks/{task_id}", "TwelveLabs analyze task"),
            "indexing": ("/v1.3/tasks/{task_id}", "TwelveLabs indexing task"),
        }
    ),
)
