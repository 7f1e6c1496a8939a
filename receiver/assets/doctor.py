"""`videohooks doctor`'s asset store check: a store that takes no writes means no event with assets
is ever published (each waits for its copy until the deadline), so it fails the check."""

from __future__ import annotations

from receiver.assets.config import AssetsConfig
from receiver.assets.store import AssetStore
from receiver.doctor import Check


async def store_check(assets: AssetsConfig | None) -> Check:
    if assets is None:
        return Check("ok", "asset store", "none configured: assets are published with the provider's URLs")
    try:
        detail = await AssetStore(assets).check_writable()
    except Exception as exc:  # whatever the store library raised is what the operator needs to read
        return Check("fail", "asset store", f"{assets.store}: {exc.__class__.__name__}: {exc}")
    return Check("ok", "asset store", detail)
