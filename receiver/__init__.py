"""videohooks: the receiving service (HTTP app, verifiers, pipeline, publisher, pollers, CLI)."""
