"""Processes of their own that tests start and kill: `python -m tests.support.workers.<name>`."""
