"""A `vertex` source's Cloud Storage: Veo's `gs://` results read with the source's Google credentials.

obstore's `GCSStore`, its token from the same google-auth credentials the poller uses
(`credential_provider`: refreshed before expiry, in a thread); an express-mode source (`api_key`),
which has no OAuth2 identity of its own, reads with Application Default Credentials. A
`storage_base_url` points the reads at another endpoint (an emulator in tests, a private endpoint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from obstore.store import GCSStore

from receiver.clients.storage import client_options
from receiver.providers.vertex.credentials import GoogleCredentials
from receiver.providers.vertex.settings import VertexSource

if TYPE_CHECKING:
    from obstore.store import GCSConfig


class GcsStorage:
    scheme = "gs"

    def __init__(self, source: VertexSource) -> None:
        self.output_uri = source.output_uri
        self._google = GoogleCredentials(source.id, source.credentials_file)
        self._base_url = source.storage_base_url
        self._stores: dict[str, GCSStore] = {}

    def store(self, bucket: str) -> GCSStore:
        if bucket not in self._stores:
            config: GCSConfig = {} if self._base_url is None else {"base_url": self._base_url}
            self._stores[bucket] = GCSStore(
                bucket,
                config=config,
                client_options=client_options(self._base_url),
                credential_provider=self._google.for_store,
            )
        return self._stores[bucket]

    async def instead_of_missing(self, bucket: str, key: str) -> str | None:
        """Veo names each video it wrote (`gcsUri`): a missing one is not somewhere else."""
        return None
