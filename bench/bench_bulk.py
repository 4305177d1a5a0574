"""Benchmark 1: accepting a 10,000-recipient bulk over HTTP, against a raw COPY.

Measured: POST /v1/sms/bulk to the real API in a subprocess, from just
before the request is sent until the whole response is read.
Baseline: one psycopg COPY of 10,000 rows shaped like the events table, with
a real Message.Accepted payload, in one committed transaction: the least
work any implementation must do to make the batch durable.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import sysconfig
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from adapters.bootstrap.container import Container
from adapters.http.sms.schemas import BulkSmsRequest
from application.sending.send import BulkRecipient, SendBulk, _BulkPreparation
from bench.harness import (
    BULK_SIZE,
    COPY_TYPES,
    CURRENCY,
    MESSAGE_ACCEPTED_TOPIC,
    RAW_TABLE,
    BenchAccount,
    BenchDatabase,
    alternate,
    bulk_request_body,
    create_account,
    new_client,
    post_bulk,
    prewarm_wal,
    progress,
    sample_state,
    summary,
)
from domain import ids
from domain.message import Acceptance, Message
from domain.messaging.accepted_batch import AcceptedBatch
from domain.messaging.templates import Template
from tests.support.api_process import ApiProcess

TARGET_MAX_RATIO = 3.0
IN_PROCESS_RUNS = 7
PROFILE_TOP = 10
WAL_MB_PER_PAIR = 48  # two 10k-row writes of ~8 MB each, with room to spare
REPO_ROOT = str(Path(__file__).resolve().parents[1])
STDLIB = sysconfig.get_paths()["stdlib"]
COPY_STATEMENT = (
    f"COPY {RAW_TABLE} (originator_id, originator_version, topic, state)"
    " FROM STDIN (FORMAT BINARY)"
)

Row = tuple[uuid.UUID, int, str, bytes]


def run_bulk(db: BenchDatabase, container: Container, runs: int) -> dict[str, Any]:
    progress(f"bulk: {runs} alternating runs of a {BULK_SIZE:,}-recipient bulk vs raw COPY")
    account = create_account(container, "Bench bulk over HTTP")
    body = bulk_request_body()
    with (
        ApiProcess(db.url, db.work_dir / "api-bulk.log") as api,
        new_client(api) as client,
        psycopg.connect(db.url) as conn,
    ):
        post_bulk(client, body, account)  # warm-up: key cache, wallet load, first imports
        state = sample_state(db.url, MESSAGE_ACCEPTED_TOPIC)
        copy_raw_events(conn, _raw_rows(state))  # warm-up of the baseline
        wal = prewarm_wal(db.url, WAL_MB_PER_PAIR * (runs + 2))
        baselines, measures = alternate(
            lambda: copy_raw_events(conn, _raw_rows(state)),
            lambda: post_bulk(client, body, account),
            runs,
        )
    ratio = statistics.median(measures) / statistics.median(baselines)
    progress("bulk: in-process breakdown and profile")
    breakdown = in_process_breakdown(container, body)
    return {
        "target": f"median ratio <= {TARGET_MAX_RATIO}x",
        "target_max_ratio": TARGET_MAX_RATIO,
        "recipients": BULK_SIZE,
        "request_body_bytes": len(body),
        "stored_state_bytes": len(state),
        "measured_s": summary(measures),
        "baseline_s": summary(baselines),
        "ratio": ratio,
        "pass": ratio <= TARGET_MAX_RATIO,
        "runs": [
            {"baseline_s": b, "measured_s": m, "ratio": m / b}
            for b, m in zip(baselines, measures, strict=True)
        ],
        "wal_prewarm": wal,
        "in_process": breakdown,
    }


def _raw_rows(state: bytes) -> list[Row]:
    return [(uuid.uuid4(), 1, MESSAGE_ACCEPTED_TOPIC, state) for _ in range(BULK_SIZE)]


def copy_raw_events(conn: psycopg.Connection[Any], rows: list[Row]) -> float:
    """Seconds to COPY `rows` in one transaction and commit (rows built before)."""
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor, cursor.copy(COPY_STATEMENT) as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


# Where the time goes ------------------------------------------------------------


def in_process_breakdown(container: Container, body: bytes) -> dict[str, Any]:
    """The controller's work without HTTP, stage by stage, then one cProfile.

    Uses its own account, so the API subprocess's cached wallet of the
    measured account never goes stale. The stage runs write 10,000 extra
    Message.Accepted events per run (no reservation) into the throwaway
    database: their COPY is timed alone, through the product's recorder.
    """
    account = create_account(container, "Bench bulk in-process")
    container.messaging.send_bulk(_command(account, _decode(body)))  # warm-up
    prewarm_wal(container.database_url, WAL_MB_PER_PAIR * (IN_PROCESS_RUNS + 2))
    runs = [_stage_run(container, account, body) for _ in range(IN_PROCESS_RUNS)]
    medians = {stage: statistics.median(run[stage] for run in runs) for stage in runs[0]}
    parts = ("prepare_recipients_s", "encode_batch_s", "copy_insert_s")
    # send_bulk streams: it prepares and encodes while the COPY runs, so its
    # total is less than the stages done one after another.
    medians["stages_one_after_another_s"] = sum(medians[p] for p in parts)
    return {
        "runs": IN_PROCESS_RUNS,
        "median_stages": medians,
        "profile": _profile(container, account, body),
    }


def _stage_run(container: Container, account: BenchAccount, body: bytes) -> dict[str, float]:
    """One run of each stage of a 10k bulk, unprofiled, in seconds."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    command = _command(account, _decode(body))
    timings["decode_json_s"] = time.perf_counter() - started
    profile = container.accounts.profile(account.account_id)
    started = time.perf_counter()
    preparation = _BulkPreparation(
        command, profile, Template.parse(command.body),
        container.messaging.card_for(profile, sandbox=False),
        container.opt_outs.opted_out(account.account_id),
    )
    accepted = [recipient for chunk in preparation.chunks() for recipient in chunk]
    timings["prepare_recipients_s"] = time.perf_counter() - started
    wallet_id = ids.wallet_id(account.account_id, sandbox=False)
    batch_id = uuid.uuid4()
    started = time.perf_counter()
    batch = AcceptedBatch(
        Acceptance(
            account_id=account.account_id, wallet_id=wallet_id, campaign_id=batch_id,
            reservation_id=str(batch_id), sender=command.sender, currency=CURRENCY,
            client_ref=None, sandbox=False, validity_minutes=command.validity_minutes,
        ),
        timestamp=Message.Event.create_timestamp(), recipients=accepted,
    )
    stored = container.app.mapper.encode_accepted_batch(batch)  # type: ignore[attr-defined]
    timings["encode_batch_s"] = time.perf_counter() - started
    started = time.perf_counter()
    container.app.recorder.insert_events(stored)
    timings["copy_insert_s"] = time.perf_counter() - started
    started = time.perf_counter()
    container.messaging.send_bulk(command)
    timings["send_bulk_total_s"] = time.perf_counter() - started
    return timings


def _decode(body: bytes) -> BulkSmsRequest:
    return msgspec.json.decode(body, type=BulkSmsRequest)


def _command(account: BenchAccount, request: BulkSmsRequest) -> SendBulk:
    """As SmsController.bulk builds it."""
    return SendBulk(
        account_id=account.account_id,
        recipients=[BulkRecipient(r.to, r.variables or {}) for r in request.recipients],
        sender=request.sender,
        body=request.body,
    )


def _profile(container: Container, account: BenchAccount, body: bytes) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        container.messaging.send_bulk(_command(account, _decode(body)))
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    return {
        "scope": "JSON decode + SendBulk build + MessagingService.send_bulk, one 10k bulk",
        "total_s": stats.total_tt,  # type: ignore[attr-defined]
        "top_cumulative": profile_top(stats, "cumulative"),
        "top_tottime": profile_top(stats, "tottime"),
    }


def profile_top(stats: pstats.Stats, key: str, limit: int = PROFILE_TOP) -> list[dict[str, Any]]:
    """The top entries by `key`, with short function names; the profiler's
    own bookkeeping is left out."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    index = 3 if key == "cumulative" else 2
    ordered = sorted(raw.items(), key=lambda item: item[1][index], reverse=True)
    top: list[dict[str, Any]] = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in ordered:
        if "_lsprof" in name:
            continue
        top.append({
            "function": f"{_short(filename)}:{line}({name})",
            "ncalls": ncalls,
            "tottime_s": tottime,
            "cumtime_s": cumtime,
        })
        if len(top) >= limit:
            break
    return top


def _short(filename: str) -> str:
    for marker in ("site-packages/", f"{REPO_ROOT}/", f"{STDLIB}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
