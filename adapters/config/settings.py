"""Configuration from environment variables, validated once at start.

Every variable is listed in the README. A bad value stops the process with a
message naming the variable, instead of failing later somewhere deep.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from adapters.carriers.smpp.urls import parse_smpp_urls
from adapters.config.billing import BillingSettings
from adapters.config.env_values import env_float, env_int
from adapters.config.identity import IdentitySettings
from adapters.webhooks.config import WebhookSettings


class ConfigError(ValueError):
    pass


# Pages that links point at, under the API's base URL. The pages belong to a
# dashboard that is not part of this service: until one answers there, set
# SMSLEDGER_PUBLIC_URL (or the full URLs) to where it is deployed.
RESET_PASSWORD_PATH = "/reset-password?token="  # noqa: S105 - a path, not a secret
CHECKOUT_SUCCESS_PATH = "/billing/success"
CHECKOUT_CANCEL_PATH = "/billing/cancel"


@dataclass(frozen=True, slots=True)
class BusSettings:
    """The JetStream stream and the workers that read and write it."""

    stream_name: str
    subject_prefix: str
    duplicate_window_s: int
    max_age_s: int
    retention: str
    relay_section_size: int
    projection_batch_size: int
    projection_max_deliveries: int
    dispatch_batch_size: int
    simulator_receipt_delay_s: float
    simulator_failure_share: float
    smpp_carriers: str  # comma-separated smpp:// URLs, checked at start

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> BusSettings:
        stream_name = env.get("SMSLEDGER_STREAM_NAME", "SMSLEDGER")
        if not stream_name.replace("_", "").replace("-", "").isalnum():
            problems.append("SMSLEDGER_STREAM_NAME is letters, digits, - and _")
        prefix = env.get("SMSLEDGER_SUBJECT_PREFIX", "smsledger")
        if not prefix or any(c in prefix for c in " .*>"):
            problems.append("SMSLEDGER_SUBJECT_PREFIX is one subject token, e.g. smsledger")
        retention = env.get("SMSLEDGER_STREAM_RETENTION", "limits")
        if retention not in ("limits", "interest"):
            problems.append("SMSLEDGER_STREAM_RETENTION is limits or interest")
        return cls(
            stream_name=stream_name,
            subject_prefix=prefix,
            duplicate_window_s=env_int(
                env, "SMSLEDGER_STREAM_DUPLICATE_WINDOW_S", 120, 1, 86_400, problems
            ),
            max_age_s=env_int(env, "SMSLEDGER_STREAM_MAX_AGE_S", 7 * 86_400, 60, 10**8, problems),
            retention=retention,
            relay_section_size=env_int(
                env, "SMSLEDGER_RELAY_SECTION_SIZE", 500, 500, 10_000, problems
            ),
            projection_batch_size=env_int(
                env, "SMSLEDGER_PROJECTION_BATCH_SIZE", 20, 1, 1000, problems
            ),
            projection_max_deliveries=env_int(
                env, "SMSLEDGER_PROJECTION_MAX_DELIVERIES", 5, 1, 100, problems
            ),
            dispatch_batch_size=env_int(
                env, "SMSLEDGER_DISPATCH_BATCH_SIZE", 200, 1, 5000, problems
            ),
            simulator_receipt_delay_s=env_float(
                env, "SMSLEDGER_SIM_RECEIPT_DELAY_S", 1.0, 0.0, 3600.0, problems
            ),
            simulator_failure_share=env_float(
                env, "SMSLEDGER_SIM_FAILURE_SHARE", 0.05, 0.0, 1.0, problems
            ),
            smpp_carriers=_smpp_carriers(env, problems),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    nats_url: str | None
    data_dir: Path
    host: str
    port: int
    db_pool_size: int
    wallet_cache_size: int
    rate_card_path: Path | None
    log_level: str
    bus: BusSettings
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    # A 10,000-recipient bulk with variables fits; larger bodies get 413.
    max_request_body_bytes: int = 8 * 1024 * 1024
    # What POST /v1/sandbox/reset refills the sandbox wallet to.
    sandbox_refill_micros: int = 100_000_000
    # Requests per second per API key unless the account sets its own.
    rate_limit_per_s: int = 100
    # uvicorn worker processes serving the API (`api` and `up`).
    api_workers: int = 1
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    # Concurrent sends on one wallet committed in one transaction, at most.
    group_commit_max: int = 64
    # Where `up` keeps the state of its background roles for /readyz; set by
    # `up` for the API processes it runs, unset elsewhere.
    roles_status_file: Path | None = None
    # Where clients reach the API (a proxy, a load balancer), when that is
    # not the address it binds; links in mail and Stripe's pages use it.
    public_url: str | None = None

    def api_base_url(self) -> str:
        """The API's address for links and clients: SMSLEDGER_PUBLIC_URL, else
        the host and port it binds (the port as bound, once it is)."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        return f"http://{_url_host(self.host)}:{self.port}"

    def password_reset_url(self) -> str:
        configured = self.identity.password_reset_url
        return configured if configured is not None else \
            f"{self.api_base_url()}{RESET_PASSWORD_PATH}"

    def checkout_urls(self) -> tuple[str, str]:
        """(success, cancel): where Stripe's page sends the customer back."""
        base = self.api_base_url()
        return (self.billing.checkout_success_url or f"{base}{CHECKOUT_SUCCESS_PATH}",
                self.billing.checkout_cancel_url or f"{base}{CHECKOUT_CANCEL_PATH}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        problems: list[str] = []
        database_url = env.get("DATABASE_URL") or None
        if database_url is not None:
            try:
                conninfo_to_dict(database_url)
            except Exception as error:  # psycopg raises ProgrammingError
                problems.append(f"DATABASE_URL is not a PostgreSQL URL: {error}")
        nats_url = env.get("NATS_URL") or None
        if nats_url is not None and not nats_url.startswith(("nats://", "tls://")):
            problems.append("NATS_URL must start with nats:// or tls://")
        rate_card = env.get("SMSLEDGER_RATE_CARD") or None
        if rate_card is not None and not Path(rate_card).is_file():
            problems.append(f"SMSLEDGER_RATE_CARD: no such file {rate_card!r}")
        log_level = env.get("SMSLEDGER_LOG_LEVEL", "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems.append("SMSLEDGER_LOG_LEVEL is one of DEBUG, INFO, WARNING, ERROR")
        settings = cls(
            database_url=database_url,
            nats_url=nats_url,
            data_dir=Path(env.get("SMSLEDGER_DATA_DIR", ".smsledger")),
            host=env.get("SMSLEDGER_HOST", "127.0.0.1"),
            port=env_int(env, "SMSLEDGER_PORT", 8000, 0, 65535, problems),
            db_pool_size=env_int(env, "SMSLEDGER_DB_POOL_SIZE", 10, 1, 200, problems),
            wallet_cache_size=env_int(
                env, "SMSLEDGER_WALLET_CACHE_SIZE", 10_000, 1, 10_000_000, problems
            ),
            rate_card_path=Path(rate_card) if rate_card else None,
            log_level=log_level,
            bus=BusSettings.from_env(env, problems),
            identity=IdentitySettings.from_env(env, problems),
            max_request_body_bytes=env_int(
                env, "SMSLEDGER_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 64 * 1024 * 1024, problems
            ),
            sandbox_refill_micros=env_int(
                env, "SMSLEDGER_SANDBOX_REFILL_MICROS", 100_000_000, 0, 10**15, problems
            ),
            rate_limit_per_s=env_int(
                env, "SMSLEDGER_RATE_LIMIT_PER_S", 100, 1, 1_000_000, problems
            ),
            api_workers=env_int(env, "SMSLEDGER_API_WORKERS", 1, 1, 64, problems),
            webhooks=WebhookSettings.from_env(env, problems),
            billing=BillingSettings.from_env(env, problems),
            group_commit_max=env_int(env, "SMSLEDGER_GROUP_COMMIT_MAX", 64, 1, 64, problems),
            roles_status_file=_path_or_none(env.get(ROLES_STATUS_FILE_ENV)),
            public_url=_http_url(env, "SMSLEDGER_PUBLIC_URL", problems),
        )
        if problems:
            raise ConfigError("Invalid configuration:\n  " + "\n  ".join(problems))
        return settings


# Set by `up` for its API processes (see Settings.roles_status_file).
ROLES_STATUS_FILE_ENV = "SMSLEDGER_ROLES_STATUS_FILE"


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def _http_url(env: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    value = env.get(name) or None
    if value is not None and not value.startswith(("http://", "https://")):
        problems.append(f"{name} must be an http(s) URL, e.g. https://sms.example.com")
        return None
    return value


def _url_host(host: str) -> str:
    """A bind address as a URL host: a wildcard is reached on the loopback
    address of this machine, and an IPv6 address goes in brackets."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising a wildcard, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _smpp_carriers(env: Mapping[str, str], problems: list[str]) -> str:
    text = env.get("SMSLEDGER_SMPP_CARRIERS", "")
    try:
        parse_smpp_urls(text)
    except ValueError as error:
        problems.append(f"SMSLEDGER_SMPP_CARRIERS: {error}")
        return ""
    return text


def eventsourcing_env(database_url: str, *, pool_size: int) -> dict[str, str]:
    """The library's configuration for our PostgreSQL event store."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "adapters.eventstore.factory",
        "MAPPER_TOPIC": "adapters.eventstore.mapper:MsgspecMapper",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "CREATE_TABLE": "no",
    }


def in_memory_eventsourcing_env() -> dict[str, str]:
    """The library's in-memory recorder, for unit tests of the application."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "MAPPER_TOPIC": "adapters.eventstore.mapper:MsgspecMapper",
    }
