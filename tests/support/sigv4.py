"""A SigV4 checker for fake AWS APIs on pytest-httpserver, built on botocore's own signer.

The fake recomputes the signature of the request as it arrived (the raw path, the headers the
`Authorization` header says were signed, the `X-Amz-Date` it carries) with the credentials it expects,
and answers 403 as AWS does when they differ. So a test passes only if the client really signed the
request it sent.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug import Request, Response

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


def raw_target(request: Request) -> str:
    """The request target as sent, percent-escapes intact (werkzeug's `path` is decoded)."""
    target = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    assert isinstance(target, str), "the test server keeps the raw request target"
    return target


def sigv4_problem(request: Request, credentials: Credentials, region: str, service: str) -> str | None:
    """Why `request` is not signed by `credentials` for `region`/`service`, or None when it is."""
    match = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    if match is None:
        return "no SigV4 Authorization header"
    if (match["key"], match["region"], match["service"]) != (credentials.access_key, region, service):
        return f"signed for {match['key']}/{match['region']}/{match['service']}"
    signed = match["signed"].split(";")
    headers = {name: request.headers.get(name, "") for name in signed}
    url = f"http://{request.headers['host']}{raw_target(request)}"
    resigned = AWSRequest(method=request.method, url=url, headers=headers, data=request.get_data())
    resigned.context["timestamp"] = request.headers.get("x-amz-date", "")
    signer = SigV4Auth(credentials, service, region)
    canonical = signer.canonical_request(resigned)
    expected = signer.signature(signer.string_to_sign(resigned, canonical), resigned)
    if not hmac.compare_digest(expected, match["signature"]):
        return "The request signature we calculated does not match the signature you provided."
    return None


def sigv4_checked(
    body: bytes, credentials: Credentials, region: str, service: str = "bedrock"
) -> Callable[[Request], Response]:
    """A handler answering `body` to a request signed as expected, else AWS's 403."""

    def answer(request: Request) -> Response:
        problem = sigv4_problem(request, credentials, region, service)
        if problem is not None:
            return Response(f'{{"message": "{problem}"}}', status=403, content_type="application/json")
        return Response(body, content_type="application/json")

    return answer
