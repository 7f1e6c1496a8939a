"""What a running receiver's routes share, the HTTP API's and the console's alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from receiver.config import Config
from receiver.core.ratelimit import RateLimits
from receiver.flow.pipeline import Pipeline
from receiver.foundation.keys import AnyRedis
from receiver.verifiers import Verifier


@dataclass
class Runtime:
    """What the routes share: built in the lifespan, torn down after the last request."""

    config: Config
    redis: AnyRedis
    pipeline: Pipeline
    verifiers: dict[str, Verifier]
    shutting_down: bool = False
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # What the routes take for now (signature windows, rate buckets); a test moves it instead of sleeping.
    clock: Callable[[], float] = time.time
