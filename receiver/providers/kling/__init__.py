"""Kling: the task object posted to `callback_url` on every status change, unsigned.

Kling signs nothing: a high-entropy token in the registered URL proves the sender knows the URL, not
what it says. With API credentials the callback is a notification and the task is fetched from
`GET {api_base_url}/v1/{task_path}/{task_id}`; without them the body is decoded as sent.

Kling's own API is called with a JWT (HS256, `{iss: access_key, exp, nbf}`) signed with the secret
key: `access_key` and `secret_key`, made anew for every request since it expires. Relays that speak
Kling's API with a plain Bearer key take `api_key` instead; a source has one or the other.

The callback does not say which endpoint created the task, and the query path depends on it
(`videos/text2video`, `videos/image2video`, `images/generations`, ...): `task_path` says it, one
source (and callback URL) per kind of task.
"""

from __future__ import annotations

from receiver.providers.base import Provider
from receiver.providers.kling.client import KlingClient
from receiver.providers.kling.settings import KlingSource, api_token
from schemas.kling import SCHEMAS

PROVIDER = Provider(settings=KlingSource, schemas=SCHEMAS, callbacks="full", client=KlingClient)

__all__ = ["PROVIDER", "KlingSource", "api_token"]
