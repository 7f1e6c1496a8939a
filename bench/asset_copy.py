"""Issue 16: the asset copy's throughput against a plain `curl -o` of the same file on loopback.

`python -m bench.run` (skip with `--copy-mib 0`), or alone: `python -m bench.asset_copy [--mib N]`. A
sparse file of N MiB (256 by default) is served from loopback by a small HTTP server that hands it to
the kernel (`sendfile`), so the server is never what limits either side. Then, alternately for
`rounds` rounds: `curl -s -o FILE URL` (timed by curl itself, `time_total`), and
`bench/copy_worker.py` in a fresh process: the copier's `Downloader` (streamed, counted, sha256 on the
way) into an `AssetStore` on a directory (obstore: a temporary file renamed into place), timed from the
request to the stored copy. Both write into the same directory under `bench/.work/`, deleted after each
round. Figures: each side's median MB/s (10^6 bytes), the ratio copier / curl, the copier's sha256
checked against the file's, and the copy process's peak resident memory (`VmHWM`) with what it held
before the copy began.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from bench.servers import free_port
from bench.settings import HOST, PYTHON, ROOT_DIR, WORK_DIR

FILE_NAME = "video.mp4"
CHUNK = 8 * 1024 * 1024


@dataclass
class CopyResult:
    status: str  # "ok" or "failed"
    detail: str | None = None
    file_bytes: int = 0
    curl_mb_s: list[float] = field(default_factory=list)
    copier_mb_s: list[float] = field(default_factory=list)
    sha256_ok: bool | None = None
    copier_rss_before_mb: float | None = None
    copier_peak_rss_mb: float | None = None  # VmHWM, the most over the rounds

    @property
    def curl(self) -> float | None:
        return statistics.median(self.curl_mb_s) if self.curl_mb_s else None

    @property
    def copier(self) -> float | None:
        return statistics.median(self.copier_mb_s) if self.copier_mb_s else None

    @property
    def ratio(self) -> float | None:
        curl, copier = self.curl, self.copier
        return copier / curl if curl and copier else None


class _FileHandler(BaseHTTPRequestHandler):
    """GET /video.mp4: the file, sent by the kernel."""

    path_on_disk: Path

    def do_GET(self) -> None:
        if self.path != f"/{FILE_NAME}":
            self.send_error(404)
            return
        size = self.path_on_disk.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.flush()
        with self.path_on_disk.open("rb") as source:
            self.connection.sendfile(source)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the bench prints its own lines."""


def _sparse_file(path: Path, size: int) -> str:
    """A file of `size` zero bytes that takes no disk (a hole), and its sha256."""
    with path.open("wb") as file:
        file.truncate(size)
    digest = hashlib.sha256()
    zeros = bytes(CHUNK)
    for low in range(0, size, CHUNK):
        digest.update(zeros[: min(CHUNK, size - low)])
    return digest.hexdigest()


def _curl(url: str, target: Path) -> float:
    """MB/s of one `curl -s -o`, from curl's own timing of the transfer."""
    done = subprocess.run(
        ["curl", "-s", "-f", "-o", str(target), "-w", "%{time_total} %{size_download}", url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"curl failed ({done.returncode}): {done.stderr}")
    seconds, size = done.stdout.split()
    return float(size) / float(seconds) / 1e6


@dataclass(frozen=True)
class WorkerCopy:
    """What bench/copy_worker.py printed."""

    bytes: int
    sha256: str
    seconds: float
    rss_before_kb: int
    vmhwm_kb: int


def _copier(url: str, directory: Path) -> WorkerCopy:
    done = subprocess.run(
        [PYTHON, "-m", "bench.copy_worker", url, str(directory)],
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.copy_worker failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return WorkerCopy(**orjson.loads(done.stdout.splitlines()[-1]))


def _round(result: CopyResult, url: str, work: Path, expected: str) -> None:
    curl_out = work / "curl.out"
    result.curl_mb_s.append(_curl(url, curl_out))
    curl_out.unlink()
    store = work / "store"
    try:
        copied = _copier(url, store)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    result.copier_mb_s.append(copied.bytes / copied.seconds / 1e6)
    ok = copied.sha256 == expected and copied.bytes == result.file_bytes
    result.sha256_ok = ok and result.sha256_ok is not False
    result.copier_rss_before_mb = copied.rss_before_kb / 1024
    result.copier_peak_rss_mb = max(result.copier_peak_rss_mb or 0.0, copied.vmhwm_kb / 1024)


def measure_copy(mib: int = 256, rounds: int = 3) -> CopyResult:
    if shutil.which("curl") is None:
        return CopyResult(status="failed", detail="curl is not installed")
    work = WORK_DIR / "copy"
    work.mkdir(parents=True, exist_ok=True)
    source = work / FILE_NAME
    result = CopyResult(status="ok", file_bytes=mib * 2**20)
    handler = type("Handler", (_FileHandler,), {"path_on_disk": source})
    server = ThreadingHTTPServer((HOST, free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, name="copy-file-server", daemon=True)
    thread.start()
    url = f"http://{HOST}:{server.server_address[1]}/{FILE_NAME}"
    try:
        expected = _sparse_file(source, result.file_bytes)
        for number in range(rounds):
            _round(result, url, work, expected)
            print(
                f"[copy] round {number + 1}/{rounds}: curl {result.curl_mb_s[-1]:,.0f} MB/s, "
                f"copier {result.copier_mb_s[-1]:,.0f} MB/s",
                flush=True,
            )
    except (RuntimeError, subprocess.TimeoutExpired, TypeError, ValueError) as exc:
        result.status, result.detail = "failed", str(exc)
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def table(result: CopyResult) -> str:
    if result.status != "ok" or result.ratio is None:
        return f"asset copy: {result.status} {result.detail or ''}"
    rounds = len(result.curl_mb_s)
    return (
        f"asset copy of a {result.file_bytes // 2**20} MiB file on loopback (median of {rounds} rounds):\n"
        f"  curl -o {result.curl:,.0f} MB/s, copier (Downloader + AssetStore, local directory) "
        f"{result.copier:,.0f} MB/s: ratio {result.ratio:.2f}; "
        f"sha256 {'ok' if result.sha256_ok else 'WRONG'}\n"
        f"  copier process peak RSS (VmHWM) {result.copier_peak_rss_mb:.1f} MB, "
        f"{result.copier_rss_before_mb:.1f} MB before the copy"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.asset_copy", description=__doc__)
    parser.add_argument("--mib", type=int, default=256, help="size of the file copied")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of curl and the copier, alternately")
    args = parser.parse_args(argv)
    result = measure_copy(args.mib, args.rounds)
    print(table(result))
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
