"""Webhook settings from the environment, checked once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.config.env_values import env_float
from domain.webhooks.retry import DEFAULT_SCHEDULE_S, parse_schedule

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_IN_FLIGHT = 200
DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT = 10
DEFAULT_DISABLE_AFTER_S = 3 * 86_400.0
DEFAULT_BATCH_SIZE = 20  # published messages, each a run of up to 1,000 envelopes
MAX_ALLOW_HOSTS = 100


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    # Hosts allowed for development: http is accepted there and the address
    # checks are skipped. Empty in production.
    allow_hosts: frozenset[str] = frozenset()
    retry_schedule_s: tuple[float, ...] = DEFAULT_SCHEDULE_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_in_flight_per_endpoint: int = DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT
    disable_after_s: float = DEFAULT_DISABLE_AFTER_S
    batch_size: int = DEFAULT_BATCH_SIZE

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> WebhookSettings:
        hosts = frozenset(
            h.strip().lower() for h in env.get("SMSLEDGER_WEBHOOK_ALLOW_HOSTS", "").split(",")
            if h.strip()
        )
        if len(hosts) > MAX_ALLOW_HOSTS:
            problems.append(f"SMSLEDGER_WEBHOOK_ALLOW_HOSTS lists at most {MAX_ALLOW_HOSTS} hosts")
        schedule = DEFAULT_SCHEDULE_S
        raw_schedule = env.get("SMSLEDGER_WEBHOOK_RETRY_SCHEDULE_S", "")
        if raw_schedule:
            try:
                schedule = parse_schedule(raw_schedule)
            except ValueError as error:
                problems.append(f"SMSLEDGER_WEBHOOK_RETRY_SCHEDULE_S: {error}")
        return cls(
            allow_hosts=hosts,
            retry_schedule_s=schedule,
            timeout_s=env_float(env, "SMSLEDGER_WEBHOOK_TIMEOUT_S", DEFAULT_TIMEOUT_S, 0.1, 30.0,
                              problems),
            max_in_flight=int(env_float(env, "SMSLEDGER_WEBHOOK_MAX_IN_FLIGHT",
                                      DEFAULT_MAX_IN_FLIGHT, 1, 2000, problems)),
            max_in_flight_per_endpoint=int(env_float(
                env, "SMSLEDGER_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT",
                DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT, 1, 500, problems)),
            disable_after_s=env_float(env, "SMSLEDGER_WEBHOOK_DISABLE_AFTER_S",
                                    DEFAULT_DISABLE_AFTER_S, 60.0, 30 * 86_400.0, problems),
            batch_size=int(env_float(env, "SMSLEDGER_WEBHOOK_BATCH_SIZE", DEFAULT_BATCH_SIZE,
                                   1, 1000, problems)),
        )
