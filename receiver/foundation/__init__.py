"""The ground floor: the error tree, Redis key names and `AnyRedis`, settings tables, metrics, logs,
tracing. It imports nothing of the receiver but itself (the layers: `[tool.importlinter]`)."""
