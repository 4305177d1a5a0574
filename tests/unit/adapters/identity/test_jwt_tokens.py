"""RS256 access tokens: keys from configuration or the data directory,
issuing, and what verification refuses."""

from __future__ import annotations

import stat
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from adapters.config.identity import IdentitySettings
from adapters.identity.jwt_tokens import (
    KEY_FILE_NAME,
    JwtTokens,
    load_signing_key,
    new_private_key_pem,
    with_key_in_data_dir,
)
from application.identity.ports import User

PEM = new_private_key_pem().decode()


def a_user() -> User:
    return User(
        id=uuid.uuid4(), account_id="acc-1", email="a@example.com", name="A", role="owner",
        platform_admin=False, password_hash=None,
        created_at=datetime.now(UTC),
    )


def tokens(pem: str = PEM, issuer: str = "smsledger", ttl_s: int = 900) -> JwtTokens:
    key = load_signing_key(IdentitySettings(jwt_private_key_pem=pem))
    return JwtTokens(key, issuer, ttl_s)


def test_a_token_verifies_in_any_process_with_the_same_key() -> None:
    user, session_id = a_user(), uuid.uuid4()
    issued = tokens().issue(user, session_id)
    assert issued.expires_in_s == 900
    claims = tokens().verify(issued.token)  # a second instance, as another process
    assert claims is not None
    assert (claims.user_id, claims.session_id, claims.account_id) == (
        user.id, session_id, "acc-1")


def test_verification_refuses_what_we_did_not_sign_or_what_expired() -> None:
    good = tokens()
    token = good.issue(a_user(), uuid.uuid4()).token
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert good.verify(f"{header}.{payload}.{flipped}") is None
    other_key = tokens(new_private_key_pem().decode())
    assert other_key.verify(token) is None
    assert tokens(issuer="someone-else").verify(token) is None
    expired = JwtTokens(load_signing_key(IdentitySettings(jwt_private_key_pem=PEM)),
                        "smsledger", ttl_s=-60).issue(a_user(), uuid.uuid4()).token
    assert good.verify(expired) is None
    # "none" and HMAC tokens are refused: only RS256 is accepted.
    unsigned = jwt.encode({"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60},
                          key=None, algorithm="none")
    assert good.verify(unsigned) is None
    assert good.verify("a" * 5000) is None


def test_the_data_directory_key_is_created_once_and_kept(tmp_path: Path) -> None:
    settings = with_key_in_data_dir(IdentitySettings(), tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE_NAME
    assert settings.jwt_private_key_file == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    again = with_key_in_data_dir(IdentitySettings(), tmp_path / "data")
    assert again.jwt_private_key_file == path
    assert path.read_bytes() == first
    token = JwtTokens(load_signing_key(settings), "smsledger", 60).issue(a_user(), uuid.uuid4())
    assert JwtTokens(load_signing_key(again), "smsledger", 60).verify(token.token) is not None


def test_a_configured_key_wins_over_the_data_directory(tmp_path: Path) -> None:
    configured = IdentitySettings(jwt_private_key_pem=PEM)
    assert with_key_in_data_dir(configured, tmp_path) is configured
    key_file = tmp_path / "key.pem"
    key_file.write_text(PEM)
    from_file = replace(IdentitySettings(), jwt_private_key_file=key_file)
    assert with_key_in_data_dir(from_file, tmp_path) is from_file
    assert not (tmp_path / KEY_FILE_NAME).exists()
    assert load_signing_key(from_file).key_id == load_signing_key(configured).key_id


def test_without_a_key_none_is_made_until_a_token_is_signed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers and one-off commands sign nothing: they must not warn that
    sessions last as long as the process (nor spend time making a key)."""
    from adapters.identity import jwt_tokens

    made: list[jwt_tokens.SigningKey] = []

    def process_key() -> jwt_tokens.SigningKey:
        if not made:
            made.append(load_signing_key(IdentitySettings(jwt_private_key_pem=PEM)))
        return made[0]

    monkeypatch.setattr(jwt_tokens, "_process_key", process_key)
    tokens = JwtTokens(jwt_tokens.signing_key_source(IdentitySettings()), "smsledger", 60)
    assert made == []
    token = tokens.issue(a_user(), uuid.uuid4())
    assert len(made) == 1 and tokens.verify(token.token) is not None
    configured = jwt_tokens.signing_key_source(IdentitySettings(jwt_private_key_pem=PEM))
    assert isinstance(configured, jwt_tokens.SigningKey)  # loaded at once: errors stop a start
