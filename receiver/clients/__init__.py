"""What the providers' API clients share: the `ResourceClient` protocol, plain-HTTP helpers, the pool.

Each provider's own client lives in its package under `receiver/providers/`.
"""
