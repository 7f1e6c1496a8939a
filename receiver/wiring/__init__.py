"""The service put together: Redis connections, the pipeline with its job handlers, and the Runtime
that the HTTP routes and the console share."""
