"""A demo Vidu task API on loopback, for trying a watch without an account: every task it is asked
about has succeeded, with a tiny video served from the same address (so that the example config's
asset copy succeeds: an asset on the source's own API origin is trusted).

    python examples/demo_api.py            # 127.0.0.1:8091, the example config's `vidu-main` api_base_url
    videohooks watch vidu-main demo-1

Nothing here is videohooks: it is the provider's side, as small as it can be.
"""

from __future__ import annotations

import argparse
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TASK_PATH = re.compile(r"^/ent/v2/tasks/([^/]+)/creations$")
VIDEO = b"\x00\x00\x00\x18ftypmp42demo"  # a few bytes: enough for a copy, not a real video


class DemoVidu(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/demo/video.mp4":
            self._answer(200, "video/mp4", VIDEO)
        elif TASK_PATH.match(self.path):
            host = self.headers["host"]  # the address the receiver asked: the video is there too
            task = {
                "state": "success",
                "err_code": "",
                "credits": 1,
                "creations": [{"id": "demo-creation", "url": f"http://{host}/demo/video.mp4"}],
            }
            self._answer(200, "application/json", json.dumps(task).encode())
        else:
            self._answer(404, "application/json", b'{"message": "not found"}')

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8091)
    port = parser.parse_args().port
    with ThreadingHTTPServer(("127.0.0.1", port), DemoVidu) as server:
        print(f"demo Vidu API on http://127.0.0.1:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
