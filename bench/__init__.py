"""Benchmark harness of videohooks: `python -m bench.run` (or `make bench`).

Measures three servers with one load generator, in one run, so that the ratios between them are
trustworthy on a shared, noisy machine: a bare Starlette ceiling, what a user writes by hand
(FastAPI + pydantic + HMAC + one XADD per request) and videohooks itself.
"""
