"""Google's OAuth2 token endpoint played on pytest-httpserver, and service-account key files for it.

The endpoint takes google-auth's real JWT-bearer grant: it checks the RS256 assertion against the
public half of a key made in the test, its audience, issuer and scope, and hands out numbered tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug import Request, Response

CLIENT_EMAIL = "veo-poller@vh-prod.iam.gserviceaccount.com"
# google-auth's assertion names Google's token endpoint as audience whatever the file's token_uri.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass
class TokenEndpoint:
    """Google's OAuth2 token endpoint, played: checks the JWT-bearer grant and hands out numbered tokens."""

    public_key: Any
    expires_in: int = 3600
    delay: float = 0.0
    issued: list[str] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        form = {name: values[0] for name, values in parse_qs(request.get_data(as_text=True)).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            form["assertion"], self.public_key, algorithms=["RS256"], audience=GOOGLE_TOKEN_AUDIENCE
        )
        assert (claims["iss"], claims["scope"]) == (CLIENT_EMAIL, SCOPE)
        time.sleep(self.delay)
        self.issued.append(f"ya29.test-access-token-{len(self.issued) + 1}")
        answer = {"access_token": self.issued[-1], "expires_in": self.expires_in, "token_type": "Bearer"}
        return Response(orjson.dumps(answer), content_type="application/json")


def write_service_account(path: Path, key: rsa.RSAPrivateKey, token_uri: str) -> Path:
    """A service-account key file with `key` (a throwaway one), its `token_uri` the fake endpoint."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    document = {
        "type": "service_account",
        "project_id": "vh-prod",
        "private_key_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "104857600000000000001",
        "token_uri": token_uri,
    }
    path.write_bytes(orjson.dumps(document))
    return path
