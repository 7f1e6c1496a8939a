"""Large provider results for the decode and head-of-line measurements: what a long video sends.

A memories.ai callback of N description segments (about 120 bytes each, the size the bench's small
deliveries have) and a Bailian task of N shots and N captions (one caption in two names its speaker),
grown until the body reaches the asked size. Times are in order, as providers send them.
"""

from __future__ import annotations

from typing import Any

import orjson

from bench.payload import memories_payload

_SENTENCES = (
    "A man in a red jacket walks a brown dog along a sandy beach at dusk.",
    "The camera pans left to a lighthouse on the cliff; gulls circle above.",
    "Two children build a sandcastle as the tide reaches their moat.",
    "Close-up of footprints in wet sand, erased by the foam of a wave.",
)


def _grown(document: dict[str, Any], items: list[Any], item: Any, size: int) -> bytes:
    """The document with `item(i)` appended to `items` until its JSON is `size` bytes or more."""
    empty = len(orjson.dumps(document))
    total = empty
    while total < size:
        added = item(len(items))
        items.append(added)
        total += len(orjson.dumps(added)) + 1
    return orjson.dumps(document)


def memories_body(size: int, task_id: str = "bench-heavy") -> bytes:
    document: dict[str, Any] = memories_payload(task_id)
    segments: list[dict[str, Any]] = []
    document["data"]["data"]["data"] = segments
    return _grown(
        document,
        segments,
        lambda i: {
            "start_time": round(i * 4.5, 1),
            "end_time": round((i + 1) * 4.5, 1),
            "transcript": _SENTENCES[i % len(_SENTENCES)],
        },
        size,
    )


def bailian_body(size: int, task_id: str = "bench-heavy") -> bytes:
    shots: list[dict[str, Any]] = []
    captions: list[dict[str, Any]] = []
    document: dict[str, Any] = {
        "requestId": "117F5ABE-CF02-5502-9A3F-E56BC9081A64",
        "code": "successful",
        "message": "successful",
        "httpStatusCode": 200,
        "success": True,
        "data": {
            "header": {"event": "task-finished", "taskId": task_id},
            "taskStatus": "SUCCESSED",
            "taskId": task_id,
            "taskRunInfo": {"responseTime": 48213},
            "payload": {
                "output": {
                    "videoAnalysisResult": {
                        "generateFinished": True,
                        "text": "A man and his dog spend an evening on the beach.",
                        "videoShotAnalysisResults": shots,
                    },
                    "videoCaptionResult": {"generateFinished": True, "videoCaptions": captions},
                    "videoGenerateResult": {"generateFinished": True, "text": "Fetch.", "modelId": "qwen"},
                },
                "usage": {"inputTokens": 5200, "outputTokens": 310, "totalTokens": 5510},
            },
        },
    }

    def pair(i: int) -> list[dict[str, Any]]:
        shot = {"startTime": i * 4500, "endTime": (i + 1) * 4500, "text": _SENTENCES[i % len(_SENTENCES)]}
        caption: dict[str, Any] = {
            "startTime": i * 4500 + 500,
            "endTime": i * 4500 + 2500,
            "startTimeFormat": "00:01",
            "endTimeFormat": "00:03",
            "text": _SENTENCES[(i + 1) % len(_SENTENCES)][:40],
        }
        if i % 2:
            caption["speaker"] = "Speaker 1"
        return [shot, caption]

    pairs: list[list[dict[str, Any]]] = []
    _grown(document, pairs, pair, size)
    shots.extend(shot for shot, _ in pairs)
    captions.extend(caption for _, caption in pairs)
    return orjson.dumps(document)
