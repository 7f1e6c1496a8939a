"""Veo on Vertex AI: poll only; long-running operations read with `fetchPredictOperation`.

Authenticated with OAuth2 access tokens from google-auth (`credentials_file`, else Application Default
Credentials; see `credentials`) or an express-mode API key (`api_key`). Videos are written to Cloud
Storage (`gs://`, copied into the asset store with the same credentials, from `storage_base_url` when
set, only from under `output_uri` when set) or returned inline (base64, written to the store).
"""

from __future__ import annotations

from receiver.providers.base import Provider, imported_on_first_use
from receiver.providers.vertex.settings import VertexSource
from schemas.vertex import SCHEMAS

# google-auth is imported when a vertex source first polls or reads its storage, not by every process
# that loads the registry.
PROVIDER = Provider(
    settings=VertexSource,
    schemas=SCHEMAS,
    callbacks=None,
    client=imported_on_first_use("receiver.providers.vertex.client:VertexClient"),
    storage=imported_on_first_use("receiver.providers.vertex.storage:GcsStorage"),
)

__all__ = ["PROVIDER", "VertexSource"]
