"""What the providers' API clients share: the `ResourceClient` protocol and plain HTTP, its failures
mapped once (`MappedTransport`). The pool of clients per source is receiver/core/client_pool.py.

Each provider's own client lives in its package under `receiver/providers/`.
"""
