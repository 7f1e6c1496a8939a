"""A `bedrock` source's S3: the `s3://` videos Bedrock writes, read with the source's AWS credentials.

obstore's `S3Store` in the source's region, its credentials from the same botocore identity that signs
the polls (`credential_provider`: explicit keys, or the standard chain, refreshed in a thread). A
source that polls with a Bedrock API key reads S3 through the standard chain. `s3_endpoint` points
the reads at another endpoint (an S3-compatible server, an emulator), path-style.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import obstore
from obstore.store import S3Store

from receiver.clients.storage import client_options
from receiver.providers.bedrock.credentials import AwsCredentials
from receiver.providers.bedrock.settings import BedrockSource

if TYPE_CHECKING:
    from obstore.store import S3Config


VIDEO_SUFFIX = ".mp4"


class S3Storage:
    scheme = "s3"

    def __init__(self, source: BedrockSource) -> None:
        self.output_uri = source.output_uri
        self._aws = AwsCredentials(source)
        self._region = source.region
        self._endpoint = source.s3_endpoint
        self._stores: dict[str, S3Store] = {}

    def store(self, bucket: str) -> S3Store:
        if bucket not in self._stores:
            config: S3Config = {"region": self._region}
            if self._endpoint is not None:
                config |= {"endpoint": self._endpoint, "virtual_hosted_style_request": False}
            self._stores[bucket] = S3Store(
                bucket,
                config=config,
                client_options=client_options(self._endpoint),
                credential_provider=self._aws.for_store,
            )
        return self._stores[bucket]

    async def instead_of_missing(self, bucket: str, key: str) -> str | None:
        """`output.mp4` is Nova Reel's documented name; other models (Luma Ray) write their video into
        the same invocation folder under a name not documented: the folder's first `.mp4`, if any."""
        folder = key.rpartition("/")[0]
        if not folder:
            return None
        async for batch in obstore.list(self.store(bucket), prefix=f"{folder}/"):
            videos = sorted(meta["path"] for meta in batch if meta["path"].lower().endswith(VIDEO_SUFFIX))
            if videos:
                return videos[0]
        return None
