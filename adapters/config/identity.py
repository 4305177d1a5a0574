"""Configuration of sign-in: JWT keys, lockout, password resets, mail, OIDC,
and what bounds sign-in under abuse (hashes at once, per-address limits, the
proxies whose X-Forwarded-For is believed).

Read from the environment with the rest of `Settings`; every variable is listed
in the README. Bad values are reported with the others, naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.config.env_values import env_float, env_int

DEFAULT_SIGN_IN_ATTEMPTS_PER_MIN = 20
DEFAULT_FAILED_KEY_AUTHS_PER_MIN = 60
DEFAULT_HASH_WAIT_S = 2.0
MAX_TRUSTED_PROXIES = 64

ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    sender: str
    starttls: bool
    timeout_s: float


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """A generic OpenID Connect provider; Google is one such provider."""

    issuer: str
    authorize_url: str
    token_url: str
    jwks_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str
    # An account created by a first sign-in uses this currency.
    default_currency: str


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    # The RS256 private key as PEM text, or a path to a PEM file. Neither set:
    # `up` and `api` generate one into the data directory; other uses (tests,
    # one-off commands) get a key that lives as long as the process.
    jwt_private_key_pem: str | None = None
    jwt_private_key_file: Path | None = None
    jwt_issuer: str = "smsledger"
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 7 * 86_400
    max_failed_logins: int = 5
    lockout_s: int = 15 * 60
    password_reset_ttl_s: int = 3600
    # Where the reset link in the mail points; the token is appended. None:
    # the reset page under the API's address (Settings.password_reset_url).
    password_reset_url: str | None = None
    # Argon2id cost: argon2-cffi's defaults (RFC 9106's low-memory profile).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    # Argon2id hashes one process runs at once: each holds argon2_memory_kib,
    # so this bounds their memory. A request that finds them all busy waits
    # up to hash_wait_s, then is answered 503.
    max_concurrent_hashes: int = field(default_factory=cores)
    hash_wait_s: float = DEFAULT_HASH_WAIT_S
    # Per client address: login, register and forgot-password requests, and
    # API credentials that fail to verify, a minute (a bucket of that many).
    sign_in_attempts_per_min: int = DEFAULT_SIGN_IN_ATTEMPTS_PER_MIN
    failed_key_auths_per_min: int = DEFAULT_FAILED_KEY_AUTHS_PER_MIN
    # Reverse proxies whose X-Forwarded-For names the client.
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    smtp: SmtpSettings | None = None
    oidc: OidcSettings | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> IdentitySettings:

        key_file = env.get("SMSLEDGER_JWT_PRIVATE_KEY_FILE") or None
        if key_file is not None and not Path(key_file).is_file():
            problems.append(f"SMSLEDGER_JWT_PRIVATE_KEY_FILE: no such file {key_file!r}")
        key_pem = env.get("SMSLEDGER_JWT_PRIVATE_KEY") or None
        if key_pem is not None and "PRIVATE KEY" not in key_pem:
            problems.append("SMSLEDGER_JWT_PRIVATE_KEY must be a PEM private key")
        return cls(
            jwt_private_key_pem=key_pem,
            jwt_private_key_file=Path(key_file) if key_file else None,
            jwt_issuer=env.get("SMSLEDGER_JWT_ISSUER", "smsledger"),
            access_token_ttl_s=env_int(
                env, "SMSLEDGER_ACCESS_TOKEN_TTL_S", 15 * 60, 60, 86_400, problems
            ),
            refresh_token_ttl_s=env_int(
                env, "SMSLEDGER_REFRESH_TOKEN_TTL_S", 7 * 86_400, 300, 90 * 86_400, problems
            ),
            max_failed_logins=env_int(env, "SMSLEDGER_MAX_FAILED_LOGINS", 5, 1, 100, problems),
            lockout_s=env_int(env, "SMSLEDGER_LOCKOUT_S", 15 * 60, 1, 86_400, problems),
            password_reset_ttl_s=env_int(
                env, "SMSLEDGER_PASSWORD_RESET_TTL_S", 3600, 60, 7 * 86_400, problems
            ),
            password_reset_url=env.get("SMSLEDGER_PASSWORD_RESET_URL") or None,
            argon2_time_cost=env_int(env, "SMSLEDGER_ARGON2_TIME_COST", 3, 1, 20, problems),
            argon2_memory_kib=env_int(
                env, "SMSLEDGER_ARGON2_MEMORY_KIB", 65_536, 8_192, 4_194_304, problems
            ),
            max_concurrent_hashes=env_int(
                env, "SMSLEDGER_MAX_CONCURRENT_HASHES", cores(), 1, 256, problems
            ),
            hash_wait_s=env_float(
                env, "SMSLEDGER_HASH_WAIT_S", DEFAULT_HASH_WAIT_S, 0.0, 60.0, problems
            ),
            sign_in_attempts_per_min=env_int(
                env, "SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN", DEFAULT_SIGN_IN_ATTEMPTS_PER_MIN,
                1, 1_000_000, problems,
            ),
            failed_key_auths_per_min=env_int(
                env, "SMSLEDGER_FAILED_KEY_AUTHS_PER_MIN", DEFAULT_FAILED_KEY_AUTHS_PER_MIN,
                1, 1_000_000, problems,
            ),
            trusted_proxies=_trusted_proxies(env, problems),
            smtp=_smtp(env, problems),
            oidc=_oidc(env, problems),
        )


def _trusted_proxies(env: Mapping[str, str], problems: list[str]) -> tuple[ProxyNetwork, ...]:
    name = "SMSLEDGER_TRUSTED_PROXIES"
    texts = [text.strip() for text in env.get(name, "").split(",") if text.strip()]
    if len(texts) > MAX_TRUSTED_PROXIES:
        problems.append(f"{name} lists at most {MAX_TRUSTED_PROXIES} addresses or networks")
        return ()
    networks: list[ProxyNetwork] = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            problems.append(f"{name}: {text!r} is not an IP address or CIDR network")
    return tuple(networks)


def _smtp(env: Mapping[str, str], problems: list[str]) -> SmtpSettings | None:
    host = env.get("SMSLEDGER_SMTP_HOST") or None
    if host is None:
        return None
    sender = env.get("SMSLEDGER_SMTP_FROM", "")
    if "@" not in sender:
        problems.append("SMSLEDGER_SMTP_FROM is the sender address, e.g. no-reply@example.com")
    return SmtpSettings(
        host=host,
        port=env_int(env, "SMSLEDGER_SMTP_PORT", 587, 1, 65535, problems),
        username=env.get("SMSLEDGER_SMTP_USERNAME", ""),
        password=env.get("SMSLEDGER_SMTP_PASSWORD", ""),
        sender=sender,
        starttls=env.get("SMSLEDGER_SMTP_STARTTLS", "true").lower() in ("1", "true", "yes"),
        timeout_s=env_float(env, "SMSLEDGER_SMTP_TIMEOUT_S", 10.0, 0.1, 120.0, problems),
    )


_OIDC_VARIABLES = (
    "ISSUER", "AUTHORIZE_URL", "TOKEN_URL", "JWKS_URL", "CLIENT_ID", "CLIENT_SECRET",
    "REDIRECT_URI",
)


def _oidc(env: Mapping[str, str], problems: list[str]) -> OidcSettings | None:
    values = {name: env.get(f"SMSLEDGER_OIDC_{name}", "") for name in _OIDC_VARIABLES}
    if not any(values.values()):
        return None
    missing = [f"SMSLEDGER_OIDC_{name}" for name, value in values.items() if not value]
    if missing:
        problems.append("OIDC sign-in needs all of: " + ", ".join(missing))
        return None
    for name in ("AUTHORIZE_URL", "TOKEN_URL", "JWKS_URL"):
        if not values[name].startswith(("https://", "http://")):
            problems.append(f"SMSLEDGER_OIDC_{name} must be an http(s) URL")
    return OidcSettings(
        issuer=values["ISSUER"],
        authorize_url=values["AUTHORIZE_URL"],
        token_url=values["TOKEN_URL"],
        jwks_url=values["JWKS_URL"],
        client_id=values["CLIENT_ID"],
        client_secret=values["CLIENT_SECRET"],
        redirect_uri=values["REDIRECT_URI"],
        scopes=env.get("SMSLEDGER_OIDC_SCOPES", "openid email profile"),
        default_currency=env.get("SMSLEDGER_OIDC_DEFAULT_CURRENCY", "GBP").upper(),
    )
