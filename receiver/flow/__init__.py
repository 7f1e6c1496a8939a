"""The pipeline and the job handlers (fetch-on-notify, polling): a delivery or a job from bytes to a
published event."""
