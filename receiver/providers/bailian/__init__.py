"""Bailian (Quanmiao light app) video analysis: poll only, with AccessKey-signed requests."""

from __future__ import annotations

from receiver.clients.base import ResourceClient
from receiver.providers.bailian.settings import BailianSource
from receiver.providers.base import Provider
from schemas.bailian import SCHEMAS


def bailian_client(source: BailianSource) -> ResourceClient:
    """Imported on first use: Alibaba Cloud's SDK takes about a third of a second to import, which
    every command (and every replay's wall time) would pay without a bailian source to poll."""
    from receiver.providers.bailian.client import BailianClient

    return BailianClient(source)


PROVIDER = Provider(settings=BailianSource, schemas=SCHEMAS, callbacks=None, client=bailian_client)

__all__ = ["PROVIDER", "BailianSource"]
