"""What `videohooks sign` prints: a `curl` command that sends a body, exactly as signed, to a receiver.

The signature covers the body's exact bytes, so the command must not let a shell or curl change one:
the body is either piped in from `printf '%s'` with POSIX single quoting (no trailing newline, as a
heredoc would add) or read from a file written beside it, and sent with `--data-binary`, which (unlike
`--data`) keeps newlines and carriage returns.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path


def curl_command(url: str, headers: Mapping[str, str], body: bytes, body_file: Path | None = None) -> str:
    """A bash command line that POSTs `body` to `url` with `headers`; the body inline unless `body_file`."""
    # --fail-with-body: a refused delivery exits non-zero (22) and still shows the receiver's reason.
    parts = ["curl", "--silent", "--show-error", "--fail-with-body", "--request", "POST", shlex.quote(url)]
    for name, value in {"content-type": "application/json", **headers}.items():
        parts += ["--header", shlex.quote(f"{name}: {value}")]
    if body_file is not None:
        parts += ["--data-binary", shlex.quote(f"@{body_file}")]
        return " ".join(parts)
    parts += ["--data-binary", "@-"]
    return f"printf '%s' {shlex.quote(body.decode())} | " + " ".join(parts)
