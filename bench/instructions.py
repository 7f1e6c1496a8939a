"""Instructions of one piece of work, counted by valgrind's callgrind: a figure this shared machine
cannot blur (seconds drift by tens of percent within a minute here; instruction counts repeat to within
about a percent).

`counted(argv)` runs a command under callgrind with collection off. The command sets itself up, prints
`ready` and waits for a line on stdin; collection is switched on (`callgrind_control -i on`), the
command does the work, prints `done` and waits for a line again; collection is switched off and the
command let go. Start-up, imports and set-up are not counted, and run several times faster than
collected code. Install valgrind with apt-get where it is missing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import IO

_COLLECTED = re.compile(r"Collected : (\d+)")


def counted(argv: list[str], env: dict[str, str] | None = None) -> int:
    """The instructions the command ran between its `ready` and its `done`."""
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    _expect(process.stdout, "ready", process)
    _collect(process.pid, "on")
    _go(process.stdin)
    _expect(process.stdout, "done", process)
    _collect(process.pid, "off")
    _go(process.stdin)
    _, err = process.communicate(timeout=600)
    found = _COLLECTED.search(err)
    if found is None:
        raise RuntimeError(f"callgrind printed no total: {err[-500:]}")
    return int(found.group(1))


def _expect(stdout: IO[str], word: str, process: subprocess.Popen[str]) -> None:
    line = stdout.readline().strip()
    if line != word:
        process.kill()
        raise RuntimeError(
            f"expected {word!r} from {process.args!r}, got {line!r}: {process.communicate()[1][-800:]}"
        )


def _collect(pid: int, state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(pid)], check=True, capture_output=True)


def _go(stdin: IO[str]) -> None:
    stdin.write("go\n")
    stdin.flush()


def mark(word: str) -> None:
    """The command's side: say `ready` or `done`, then wait to be let go."""
    print(word, flush=True)
    sys.stdin.readline()
