"""Seedance on Volcengine Ark / BytePlus ModelArk: the task object posted to `callback_url`, unsigned.

Ark signs nothing: a high-entropy token in the registered URL proves the sender knows the URL, not
what it says. With `api_key` (the Ark API key) the callback is a notification and the task is fetched
from `GET {api_base_url}/contents/generations/tasks/{id}` (Bearer); without it the body is decoded as
sent. The default base is Volcengine's Beijing region; BytePlus ModelArk is
`https://ark.ap-southeast.bytepluses.com/api/v3`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.clients.task_path import task_path_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.ark import SCHEMAS


class ArkSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "url-token"
    provider: Literal["ark"]
    api_base_url: str | None = "https://ark.cn-beijing.volces.com/api/v3"


PROVIDER = Provider(
    settings=ArkSource,
    schemas=SCHEMAS,
    callbacks="full",
    client=task_path_client("/contents/generations/tasks/{task_id}", "Ark content generation task"),
)
