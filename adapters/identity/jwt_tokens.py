"""RS256 access tokens: the signing key, issuing, and verifying.

The key comes from configuration (PEM text or a file), or is generated into
the data directory by `up` and `api`. Without either, a process gets a key of
its own that dies with it: fine for tests and one-off commands, useless for
several API processes, which is why the roles that serve set one up.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.config.identity import IdentitySettings
from application.identity.ports import AccessToken, User

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
AUDIENCE = "smsledger-api"
KEY_FILE_NAME = "jwt_signing_key.pem"
RSA_KEY_BITS = 2048
# Seconds of clock difference between processes that verification forgives.
LEEWAY_S = 5
# A JWT is three base64url parts; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 4096
# Tokens verified already, kept until they expire: a client sends the same
# token on every request for 15 minutes, and the RSA check (about 0.1-0.2 ms
# here) then runs once per token and process instead of once per request.
VERIFIED_CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey
    key_id: str  # names the key in the token header, so keys can be rotated


def _key_id(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def _from_pem(pem: bytes) -> SigningKey:
    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError("the JWT signing key must be an RSA private key")
    public_key = private_key.public_key()
    return SigningKey(private_key, public_key, _key_id(public_key))


def new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_signing_key(settings: IdentitySettings) -> SigningKey:
    if settings.jwt_private_key_pem is not None:
        return _from_pem(settings.jwt_private_key_pem.encode())
    if settings.jwt_private_key_file is not None:
        return _from_pem(settings.jwt_private_key_file.read_bytes())
    return _process_key()


_process_key_guard = threading.Lock()


@functools.cache
def _process_key_unguarded() -> SigningKey:
    log.warning("no JWT signing key configured: sessions last as long as this process")
    return _from_pem(new_private_key_pem())


def _process_key() -> SigningKey:
    # One per process, not per container: generating an RSA key takes a while.
    # Guarded: two first requests at once must not each make a key.
    with _process_key_guard:
        return _process_key_unguarded()


def signing_key_source(settings: IdentitySettings) -> SigningKey | Callable[[], SigningKey]:
    """The configured key, loaded now (a bad one stops the start); without
    one, the source of a key of this process's own, made (and warned about)
    only when the process first signs or checks a token. Processes that
    serve no API (workers, one-off commands) never do, so never warn."""
    if settings.jwt_private_key_pem is None and settings.jwt_private_key_file is None:
        return _process_key
    return load_signing_key(settings)


def with_key_in_data_dir(settings: IdentitySettings, data_dir: Path) -> IdentitySettings:
    """Settings that use a key file in the data directory, created on first use,
    unless a key is configured already."""
    if settings.jwt_private_key_pem is not None or settings.jwt_private_key_file is not None:
        return settings
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only, and never overwritten: two
        # processes starting at once both end up using the first one's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(new_private_key_pem())
            log.info("generated a JWT signing key at %s", path)
    return replace(settings, jwt_private_key_file=path)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    account_id: str


class JwtTokens:
    """Issues access tokens (AccessTokenIssuer) and verifies them.

    Verification is one RSA signature check with a key parsed once at start,
    once per token: later requests with the same token find it verified.
    """

    def __init__(
        self, key: SigningKey | Callable[[], SigningKey], issuer: str, ttl_s: int
    ) -> None:
        self._key_source = key
        self._issuer = issuer
        self._ttl_s = ttl_s
        self._verified: dict[str, tuple[float, AccessClaims]] = {}
        self._guard = threading.Lock()

    @property
    def _key(self) -> SigningKey:
        source = self._key_source
        return source if isinstance(source, SigningKey) else source()

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key

    def issue(self, user: User, session_id: uuid.UUID) -> AccessToken:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": str(user.id),
            "sid": str(session_id),
            "acc": user.account_id,
            "role": user.role,
            "iat": now,
            "exp": now + self._ttl_s,
            "jti": uuid.uuid4().hex,
        }
        key = self._key
        token = jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.key_id},
        )
        return AccessToken(token=token, expires_in_s=self._ttl_s)

    def verify(self, token: str) -> AccessClaims | None:
        """The claims of a token we signed that has not expired, else None."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        with self._guard:
            cached = self._verified.get(token)
        if cached is not None:
            if cached[0] > time.time():
                return cached[1]
            with self._guard:
                self._verified.pop(token, None)
            return None
        try:
            claims = jwt.decode(
                token, self._key.public_key, algorithms=[ALGORITHM], audience=AUDIENCE,
                issuer=self._issuer, leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "sid", "acc"]},
            )
            verified = AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                account_id=str(claims["acc"]),
            )
            expires_at = float(claims["exp"]) + LEEWAY_S
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        with self._guard:
            if len(self._verified) >= VERIFIED_CACHE_MAX_ENTRIES:
                self._verified.clear()
            self._verified[token] = (expires_at, verified)
        return verified
