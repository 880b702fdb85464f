"""A Supabase project's auth endpoint on loopback that serves its public signing keys (JWKS).

Supabase publishes them at `<project>/auth/v1/.well-known/jwks.json`; projects on asymmetric
signing keys sign access tokens with ES256 (or RS256) and name the key in the header's `kid`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/auth/v1/.well-known/jwks.json"


@dataclass
class JwksServer:
    """The project's URL (what SUPABASE_URL would be), its private keys by `kid`, and the paths asked for."""

    url: str
    keys: dict[str, Any]
    requests: list[str] = field(default_factory=list)

    def sign(self, kid: str, algorithm: str, claims: dict[str, Any]) -> str:
        """An access token signed with the project's key `kid`, as Supabase's auth server issues it."""
        return jwt.encode(claims, self.keys[kid], algorithm=algorithm, headers={"kid": kid})

    def access_token(self, user_id: uuid.UUID, ttl_s: int = 600, *, member: bool = False) -> str:
        """An admin's ES256 access token with Supabase's claims (a non-admin's with `member`)."""
        claims = {"sub": str(user_id), "aud": "authenticated", "role": "authenticated", "exp": int(time.time()) + ttl_s,
                  "app_metadata": {"provider": "email", **({} if member else {"role": "admin"})}}
        return self.sign("ec-1", "ES256", claims)


@contextmanager
def serve_jwks() -> Iterator[JwksServer]:
    """A fresh EC key (`ec-1`, ES256) and RSA key (`rsa-1`, RS256), served until the block ends."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = [
        {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec-1", "alg": "ES256", "use": "sig"},
        {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "rsa-1", "alg": "RS256", "use": "sig"},
    ]
    state = JwksServer(url="", keys={"ec-1": ec_key, "rsa-1": rsa_key})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == JWKS_PATH:
                body = json.dumps({"keys": public}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
