"""What every path stands on: the JSON gate and decoding, offload, the publisher, the job queue, the
API budget and rate limits. Below the pipeline, above the configuration."""
