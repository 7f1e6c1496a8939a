"""The HTTP operations an app serves, read from its router, for tests that must cover every route."""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.routing import BaseRoute, Mount, Route


def http_operations(routes: Iterable[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """Every (path, method) an app serves, mounted sub-routers included; HEAD goes with GET."""
    operations: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            operations |= http_operations(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            methods = set(route.methods or ()) - {"HEAD"}
            # `{task_id:path}` is `{task_id}` to a client: the convertor is the router's business.
            path = re.sub(r":\w+}", "}", prefix + route.path)
            operations |= {(path, method) for method in methods}
    return operations
