"""Benchmark 2: sequential single sends through the application layer.

Measured: N sequential MessagingService.send calls in-process, messages/s.
Baseline: N sequential raw psycopg transactions on one connection, each
inserting a message-sized and a wallet-event-sized row and committing: the
two durable writes a send cannot avoid, without the application around them.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
import uuid
from typing import Any

import psycopg

from adapters.bootstrap.container import Container
from application.sending.send import SendMessage
from bench.bench_bulk import profile_top
from bench.harness import (
    MESSAGE_ACCEPTED_TOPIC,
    RAW_TABLE,
    SENDER,
    TEMPLATE,
    WALLET_RESERVED_TOPIC,
    alternate,
    create_account,
    prewarm_wal,
    progress,
    sample_state,
    summary,
    uk_mobile,
    variables_for,
)

SENDS_PER_RUN = 500
TARGET_MIN_RATIO = 0.5
WARM_UP_SENDS = 20
PROFILE_SENDS = 200
WAL_PREWARM_MB = 96
INSERT_STATEMENT = (
    f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state)"
    " VALUES (%s, %s, %s, %s)"
)

Row = tuple[uuid.UUID, int, str, bytes]


def run_single(db_url: str, container: Container, runs: int) -> dict[str, Any]:
    progress(f"single: {runs} alternating runs of {SENDS_PER_RUN} sequential sends")
    account_id = create_account(container, "Bench single sends").account_id
    commands = [
        SendMessage(account_id, uk_mobile(i), SENDER, TEMPLATE, variables_for(i))
        for i in range(SENDS_PER_RUN)
    ]
    for command in commands[:WARM_UP_SENDS]:
        container.messaging.send(command)
    message_state = sample_state(db_url, MESSAGE_ACCEPTED_TOPIC)
    wallet_state = sample_state(db_url, WALLET_RESERVED_TOPIC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        insert_pairs(conn, _row_pairs(message_state, wallet_state, WARM_UP_SENDS))
        wal = prewarm_wal(db_url, WAL_PREWARM_MB)
        baselines, measures = alternate(
            lambda: insert_pairs(conn, _row_pairs(message_state, wallet_state, SENDS_PER_RUN)),
            lambda: send_all(container, commands),
            runs,
        )
    ratio = statistics.median(measures) / statistics.median(baselines)
    progress("single: profile")
    return {
        "target": f"ratio of rates >= {TARGET_MIN_RATIO}x",
        "target_min_ratio": TARGET_MIN_RATIO,
        "sends_per_run": SENDS_PER_RUN,
        "message_state_bytes": len(message_state),
        "wallet_state_bytes": len(wallet_state),
        "measured_per_s": summary(measures),
        "baseline_per_s": summary(baselines),
        "ratio": ratio,
        "pass": ratio >= TARGET_MIN_RATIO,
        "runs": [
            {"baseline_per_s": b, "measured_per_s": m, "ratio": m / b}
            for b, m in zip(baselines, measures, strict=True)
        ],
        "wal_prewarm": wal,
        "profile": _profile(container, commands[:PROFILE_SENDS]),
    }


def send_all(container: Container, commands: list[SendMessage]) -> float:
    """Messages per second over the sequential sends."""
    send = container.messaging.send
    started = time.perf_counter()
    for command in commands:
        send(command)
    return len(commands) / (time.perf_counter() - started)


def _row_pairs(message_state: bytes, wallet_state: bytes, count: int) -> list[tuple[Row, Row]]:
    """A new message per send; one wallet whose version grows, as a real one's does."""
    wallet_id = uuid.uuid4()
    return [
        (
            (uuid.uuid4(), 1, MESSAGE_ACCEPTED_TOPIC, message_state),
            (wallet_id, version, WALLET_RESERVED_TOPIC, wallet_state),
        )
        for version in range(1, count + 1)
    ]


def insert_pairs(conn: psycopg.Connection[Any], pairs: list[tuple[Row, Row]]) -> float:
    """Rows per pair inserted and committed in one transaction each; pairs/s."""
    started = time.perf_counter()
    for message_row, wallet_row in pairs:
        with conn.transaction():
            conn.execute(INSERT_STATEMENT, message_row, prepare=True)
            conn.execute(INSERT_STATEMENT, wallet_row, prepare=True)
    return len(pairs) / (time.perf_counter() - started)


def _profile(container: Container, commands: list[SendMessage]) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        for command in commands:
            container.messaging.send(command)
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    return {
        "scope": f"{len(commands)} sequential MessagingService.send calls",
        "total_s": stats.total_tt,  # type: ignore[attr-defined]
        "top_cumulative": profile_top(stats, "cumulative"),
        "top_tottime": profile_top(stats, "tottime"),
    }
