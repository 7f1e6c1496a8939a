"""TwelveLabs task objects, version 1: an analyze task (`GET /v1.3/analyze/tasks/{id}`, with `task_id`)
or a video indexing task (`GET /v1.3/tasks/{id}`, with `_id`), told apart by their shape."""

from __future__ import annotations

from pydantic import RootModel

from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext
from schemas.twelvelabs import analyze_task_v1, index_task_v1


class Task(RootModel[analyze_task_v1.AnalyzeTask | index_task_v1.IndexTask]):
    pass


def normalize(payload: Task, ctx: DeliveryContext) -> CanonicalEvent:
    task = payload.root
    if isinstance(task, analyze_task_v1.AnalyzeTask):
        return analyze_task_v1.normalize(task, ctx)
    return index_task_v1.normalize(task, ctx)
