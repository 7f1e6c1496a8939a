"""memories.ai MAVI API v2: async video description callbacks, the whole result inline.

memories.ai documents no signature and no task API: a high-entropy token in the registered URL is
the proof, and the body is decoded as sent.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.memories import SCHEMAS


class MemoriesSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "url-token"
    provider: Literal["memories"]


PROVIDER = Provider(settings=MemoriesSource, schemas=SCHEMAS, callbacks="full")
