"""BASELINE, NOT PRODUCTION CODE: the decode path as it was before issue 18 (commit 3dc598d), kept
runnable so that `bench/decode.py` can measure today's decode against it in the same run.

Copied verbatim from `receiver/json_gate.py`, `schemas/memories/v1.py`, `schemas/bailian/v1.py` and the
parts of `receiver/pipeline.py` and `schemas/normalizing.py` they used; only the imports were pointed
here. Never import this from `receiver/` or `schemas/`, and never fix it: it is the yardstick.
"""
