"""Argon2id password hashing (argon2-cffi), with its recommended parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# A valid hash of a random password, computed once: checking a password for an
# unknown email against it costs the same time as checking a real user's.
_BURN_PASSWORD = "not-a-password-anyone-has"  # noqa: S105 - a decoy, not a secret


class Argon2Hasher:
    """Argon2id, by default with argon2-cffi's parameters (RFC 9106's
    low-memory profile: 3 passes over 64 MiB, 4 lanes): tens to hundreds of
    milliseconds a check, which is why API keys do not use it per request.
    A hash records its parameters, so changing them keeps old hashes valid."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65_536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._decoy: str | None = None  # hashed on first use: it costs a hash

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        if self._decoy is None:
            self._decoy = self._hasher.hash(_BURN_PASSWORD)
        self.verify(self._decoy, password + "\x00")
