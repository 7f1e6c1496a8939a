"""Alibaba Model Studio (DashScope) async tasks, Wan video synthesis: poll only, with a Bearer key.

DashScope can announce task completion through Alibaba EventBridge, but that envelope is neither
documented for signing nor verified here: tasks are watched and polled.
"""

from __future__ import annotations

from receiver.providers.base import Provider
from receiver.providers.dashscope.client import DashscopeClient
from receiver.providers.dashscope.settings import DashscopeSource
from schemas.dashscope import SCHEMAS

PROVIDER = Provider(
    settings=DashscopeSource,
    schemas=SCHEMAS,
    callbacks=None,
    client=DashscopeClient,
    # The task result API allows 20 queries per second.
    api_rate_limit_per_second=20.0,
)

__all__ = ["PROVIDER", "DashscopeSource"]
