"""A local OpenID Connect provider for tests: authorize, token and JWKS
endpoints over real HTTP, issuing RS256 ID tokens signed with its own key.

`/authorize` plays a user who consents at once: it remembers the nonce and
redirects to the client's redirect_uri with a one-time code. `/token`
exchanges that code for an ID token. `next_claims` and `sign_with` let a test
make the next token wrong in one chosen way.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "smsledger-test-client"
CLIENT_SECRET = "standin-secret"
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"


class OidcStandIn:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "standin-1"
        self.codes: dict[str, dict[str, Any]] = {}
        self.user: dict[str, Any] = {}
        self.next_claims: dict[str, Any] = {}  # merged into the next ID token
        self.sign_with: rsa.RSAPrivateKey | None = None  # a key not in the JWKS
        self.token_requests: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    def env(self) -> dict[str, str]:
        return {
            "SMSLEDGER_OIDC_ISSUER": self.issuer,
            "SMSLEDGER_OIDC_AUTHORIZE_URL": f"{self.base_url}/authorize",
            "SMSLEDGER_OIDC_TOKEN_URL": f"{self.base_url}/token",
            "SMSLEDGER_OIDC_JWKS_URL": f"{self.base_url}/jwks",
            "SMSLEDGER_OIDC_CLIENT_ID": CLIENT_ID,
            "SMSLEDGER_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "SMSLEDGER_OIDC_REDIRECT_URI": REDIRECT_URI,
        }

    def start(self) -> OidcStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": nonce, **self.user, **self.next_claims,
        }
        self.next_claims = {}
        key = self.sign_with or self.key
        self.sign_with = None
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(standin.key.public_key()))
                    self._json(200, {"keys": [{**jwk, "kid": standin.kid, "use": "sig",
                                               "alg": "RS256"}]})
                elif url.path == "/authorize":
                    query = dict(urllib.parse.parse_qsl(url.query))
                    code = secrets.token_urlsafe(16)
                    standin.codes[code] = query
                    target = query["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                standin.token_requests.append(form)
                asked = standin.codes.pop(form.get("code", ""), None)
                if (asked is None or form.get("client_id") != CLIENT_ID
                        or form.get("client_secret") != CLIENT_SECRET
                        or form.get("redirect_uri") != asked["redirect_uri"]
                        or form.get("grant_type") != "authorization_code"):
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(200, {"access_token": "opaque", "token_type": "Bearer",
                                 "expires_in": 3600,
                                 "id_token": standin.id_token(asked["nonce"])})

            def _json(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
