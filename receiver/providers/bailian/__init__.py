"""Bailian (Quanmiao light app) video analysis: poll only, with AccessKey-signed requests."""

from __future__ import annotations

from receiver.providers.bailian.settings import BailianSource
from receiver.providers.base import Provider, imported_on_first_use
from schemas.bailian import SCHEMAS

# Alibaba Cloud's SDK takes about a third of a second to import, which every command (and every replay's
# wall time) would pay without a bailian source to poll.
PROVIDER = Provider(
    settings=BailianSource,
    schemas=SCHEMAS,
    callbacks=None,
    client=imported_on_first_use("receiver.providers.bailian.client:BailianClient"),
)

__all__ = ["PROVIDER", "BailianSource"]
