"""When to call a provider's API again: a growing interval, the provider's `Retry-After`, a deadline.

Fetch retries and polls share the rule, so that both honour `Retry-After` and neither sleeps past its
deadline: the last attempt happens at the deadline itself, and only then is the task given up.
"""

from __future__ import annotations


def next_interval(interval: float, factor: float, cap: float) -> float:
    return min(interval * factor, cap)


def next_due(now: float, interval: float, retry_after: float | None, deadline: float) -> float:
    """`now` plus the interval, or the `Retry-After` when the provider asks for longer; at most `deadline`."""
    return min(now + max(interval, retry_after or 0.0), deadline)
