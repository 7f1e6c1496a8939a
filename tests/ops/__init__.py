"""Running it: the CLI, configuration, Redis topologies and faults, shutdown, metrics, traces, deployment."""
