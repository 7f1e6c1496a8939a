"""Durable assets: copy what providers generate into the operator's own store before publishing.

Their settings ([assets] and [events]) are in receiver/foundation/asset_settings.py. Here: `store`
(the object store), `download` (SSRF-safe streaming from the provider), `inline` (base64 media into
the store) and `copier` (the durable `copy` job).
"""
