"""Each provider: its signature scheme, its API client, its deliveries decoded into the canonical event."""
