"""Benchmark 4: the relay publishing the whole log to JetStream, against raw publishes.

Measured: a `Relay` publishing the event store from position 0 to the head
(`relay_section()` in a loop), into a fresh stream per run: envelopes/s.
Baseline: the same envelopes, encoded once before the runs, published with a
bare nats-py `js.publish_async` each (same subjects and `Nats-Msg-Id`
headers), then all acks awaited, into a fresh stream per run: envelopes/s.
The baseline is the least any relay must do to get them durably into
JetStream; the ratio is what reading, decoding, enveloping, encoding and
section bookkeeping cost on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import itertools
import pstats
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats
from eventsourcing.persistence import Notification
from nats.aio.client import Client
from nats.js import JetStreamContext

from adapters.bootstrap.container import Container
from adapters.config.settings import BusSettings
from adapters.eventstore.envelopes import envelopes_of
from adapters.jetstream.batches import batches_of, encode_envelope
from adapters.jetstream.streams import ensure_stream, stream_settings
from adapters.jetstream.subjects import subject_of
from adapters.relay.positions import RelayPositions
from adapters.relay.relay import RELAY_NAME, Relay
from application.sending.send import BulkRecipient, SendBulk
from bench.bench_bulk import profile_top
from bench.harness import (
    BULK_SIZE,
    SENDER,
    TEMPLATE,
    create_account,
    progress,
    summary,
    uk_mobile,
    variables_for,
)
from tests.support import infra

TARGET_MIN_RATIO = 0.5
RELAY_BULKS = 5
READ_SECTION = 5000
ACK_TIMEOUT_S = 120.0
MAX_IDLE_SECTIONS = 3

_stream_counter = itertools.count(1)
Prepared = tuple[str, bytes, dict[str, str], int]  # (type, payload, headers, envelopes)


# Shared with bench_lag and bench_rebuild -----------------------------------------


@contextlib.contextmanager
def nats_server(work_dir: Path) -> Iterator[str]:
    """NATS_URL if set, else an embedded JetStream under `work_dir`, always stopped."""
    url, stop = infra.nats_server_url(work_dir / "nats")
    try:
        yield url
    finally:
        stop()


def isolated_bus(container: Container, tag: str) -> BusSettings:
    """The container's bus settings with a stream name and subject prefix of their own."""
    n, run_id = next(_stream_counter), infra.new_run_id()
    return replace(
        container.settings.bus,
        stream_name=f"SMSLEDGER_BENCH_{tag.upper()}_{run_id}_{n}",
        subject_prefix=f"smsledger_bench_{tag}_{run_id}_{n}",
    )


@contextlib.asynccontextmanager
async def fresh_stream(js: JetStreamContext, container: Container, tag: str
                       ) -> AsyncIterator[str]:
    """A new stream with the product's settings; yields its subject prefix; deleted after."""
    settings = stream_settings(isolated_bus(container, tag))
    await ensure_stream(js, settings)
    try:
        yield settings.subject_prefix
    finally:
        await delete_stream_quietly(js, settings.name)


async def delete_stream_quietly(js: JetStreamContext, name: str) -> None:
    try:
        await js.delete_stream(name)
    except Exception as error:  # report, but let the original error win
        progress(f"could not delete stream {name}: {error}")


def set_relay_position(container: Container, position: int) -> None:
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO relay_positions (name, position) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
            (RELAY_NAME, position),
        )


def bulk_command(account_id: str, count: int = BULK_SIZE) -> SendBulk:
    recipients = [BulkRecipient(uk_mobile(i), variables_for(i)) for i in range(count)]
    return SendBulk(account_id, recipients, SENDER, TEMPLATE)


def fill_bulks(container: Container, account_id: str, bulks: int,
               should_stop: Callable[[], bool] = lambda: False) -> int:
    """Accept `bulks` bulks of 10,000 through `send_bulk`; returns how many were sent."""
    command = bulk_command(account_id)
    for index in range(bulks):
        if should_stop():
            return index
        container.messaging.send_bulk(command)
    return bulks


def head_of(container: Container) -> int:
    return container.app.recorder.max_notification_id() or 0


# The benchmark ----------------------------------------------------------------------


def run_relay(container: Container, nats_url: str, runs: int) -> dict[str, Any]:
    account = create_account(container, "Bench relay")
    started = time.perf_counter()
    fill_bulks(container, account.account_id, RELAY_BULKS)
    fill_s = time.perf_counter() - started
    head = head_of(container)
    progress(f"relay: {RELAY_BULKS} bulks in {fill_s:.1f} s; log head {head:,};"
             f" {runs} alternating runs of relay vs raw publish_async")
    return asyncio.run(_run_relay(container, nats_url, runs, head, fill_s))


async def _run_relay(container: Container, nats_url: str, runs: int, head: int,
                     fill_s: float) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="smsledger-bench-relay")
    try:
        js = nc.jetstream()
        prepared, encode_s = await asyncio.to_thread(_prepare, container, head)
        await _baseline_once(js, container, prepared)  # warm-up of both sides
        await _relay_once(container, js, head)
        singles = await asyncio.to_thread(_one_per_message, container, head)
        baselines: list[float] = []
        batched: list[float] = []
        measures: list[float] = []
        for index in range(runs):
            baselines.append(await _baseline_once(js, container, singles))
            batched.append(await _baseline_once(js, container, prepared))
            measures.append(await _relay_once(container, js, head))
            progress(f"  run {index + 1}/{runs}: baseline {baselines[-1]:,.0f}/s"
                     f"  batched baseline {batched[-1]:,.0f}/s  relay {measures[-1]:,.0f}/s")
        progress("relay: profile")
        profile = await _profile_relay(container, js, head)
        server = _server_info(nc)
    finally:
        await nc.close()
    ratio = statistics.median(measures) / statistics.median(baselines)
    return {
        "target": f"ratio of rates >= {TARGET_MIN_RATIO}x",
        "target_min_ratio": TARGET_MIN_RATIO,
        "bulks": RELAY_BULKS,
        "fill_s": fill_s,
        "log_head": head,
        "envelopes": sum(count for *_, count in prepared),
        "messages": len(prepared),
        "section_size": container.settings.bus.relay_section_size,
        "nats": server,
        "envelopes_of_and_encode_s": encode_s,
        "measured_per_s": summary(measures),
        "baseline_per_s": summary(baselines),
        "batched_baseline_per_s": summary(batched),
        "ratio": ratio,
        "ratio_to_batched": statistics.median(measures) / statistics.median(batched),
        "pass": ratio >= TARGET_MIN_RATIO,
        "runs": [
            {"baseline_per_s": b, "batched_baseline_per_s": bb, "measured_per_s": m,
             "ratio": m / b, "ratio_to_batched": m / bb}
            for b, bb, m in zip(baselines, batched, measures, strict=True)
        ],
        "profile": profile,
    }


def _prepare(container: Container, head: int) -> tuple[list[Prepared], float]:
    """Every envelope of the log, encoded once, with its Nats-Msg-Id header.
    Also returns the seconds envelopes_of + batches_of took (no I/O)."""
    recorder, mapper = container.app.recorder, container.app.mapper
    notifications: list[Notification] = []
    while len(notifications) < head:
        section = recorder.select_notifications(len(notifications) + 1, READ_SECTION, stop=head)
        if not section:
            break
        notifications.extend(section)
    # The same messages the relay sends: each section's envelopes, cut into
    # runs of one type (adapters.jetstream.batches.batches_of).
    section_size = container.settings.bus.relay_section_size
    started = time.perf_counter()
    prepared = [
        (batch.type, batch.payload, {"Nats-Msg-Id": batch.msg_id}, batch.count)
        for start in range(0, len(notifications), section_size)
        for batch in batches_of(envelopes_of(mapper, notifications[start:start + section_size]))
    ]
    return prepared, time.perf_counter() - started


def _one_per_message(container: Container, head: int) -> list[Prepared]:
    """The same envelopes as a naive publisher sends them: one message each,
    with the notification id as its Nats-Msg-Id."""
    recorder, mapper = container.app.recorder, container.app.mapper
    prepared: list[Prepared] = []
    position = 0
    while position < head:
        section = recorder.select_notifications(position + 1, READ_SECTION, stop=head)
        if not section:
            break
        prepared.extend(
            (e.type, encode_envelope(e), {"Nats-Msg-Id": str(e.id)}, 1)
            for e in envelopes_of(mapper, section)
        )
        position = section[-1].id
    return prepared


async def _baseline_once(js: JetStreamContext, container: Container,
                         prepared: list[Prepared]) -> float:
    async with fresh_stream(js, container, "base") as prefix:
        messages = [(subject_of(kind, prefix), payload, headers)
                    for kind, payload, headers, _ in prepared]
        started = time.perf_counter()
        acks = [await js.publish_async(subject, payload, headers=headers)
                for subject, payload, headers in messages]
        await asyncio.wait_for(asyncio.gather(*acks), timeout=ACK_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        await _check_stream(js, prefix, len(messages))
    return sum(count for *_, count in prepared) / elapsed


async def _relay_once(container: Container, js: JetStreamContext, head: int,
                      relay_factory: Callable[[str], Relay] | None = None) -> float:
    async with fresh_stream(js, container, "relay") as prefix:
        await asyncio.to_thread(set_relay_position, container, 0)
        relay = (relay_factory or (lambda p: _new_relay(container, js, p)))(prefix)
        relay.stats.position = 0
        idle = 0
        started = time.perf_counter()
        while relay.stats.position < head:
            if await relay.relay_section() == 0:
                idle += 1
                if idle >= MAX_IDLE_SECTIONS:
                    raise RuntimeError(f"relay stuck at {relay.stats.position} < {head}")
        elapsed = time.perf_counter() - started
        await _check_stream(js, prefix, relay.stats.messages)
    return relay.stats.published / elapsed


def _new_relay(container: Container, js: JetStreamContext, prefix: str,
               positions: RelayPositions | None = None) -> Relay:
    return Relay(container.pool,
                 container.app.recorder.events_table_name,  # type: ignore[attr-defined]
                 container.app.mapper, js, positions or RelayPositions(container.pool),
                 subject_prefix=prefix,
                 section_size=container.settings.bus.relay_section_size)


async def _check_stream(js: JetStreamContext, prefix: str, expected: int) -> None:
    name = await js.find_stream_name_by_subject(f"{prefix}.>")
    messages = (await js.stream_info(name)).state.messages
    if messages != expected:
        raise RuntimeError(f"stream {name} holds {messages} messages, expected {expected}")


def _server_info(nc: Client) -> dict[str, Any]:
    info = nc._server_info  # the INFO the server sent on connect
    return {"version": info.get("version"), "jetstream": info.get("jetstream")}


# Where the time goes --------------------------------------------------------------


class _Profiled:
    """Delegates to `target`; calls of `names` run under `profiler` in the
    calling thread (the relay reads and saves in `asyncio.to_thread`, out of
    reach of the event loop's profiler) and their wall time is summed."""

    def __init__(self, target: object, profiler: cProfile.Profile,
                 names: tuple[str, ...]) -> None:
        self._target, self._profiler, self._names = target, profiler, names
        self.seconds = dict.fromkeys(names, 0.0)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name not in self._names:
            return attribute

        def profiled(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            self._profiler.enable()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._profiler.disable()
                self.seconds[name] += time.perf_counter() - started

        return profiled


async def _profile_relay(container: Container, js: JetStreamContext,
                         head: int) -> dict[str, Any]:
    """One more relay run from 0 to the head, under cProfile (loop thread and
    the worker threads' database calls, merged)."""
    in_threads = cProfile.Profile()
    positions = _Profiled(RelayPositions(container.pool), in_threads, ("save",))
    reads: list[_Profiled] = []

    def factory(prefix: str) -> Relay:
        relay = _new_relay(container, js, prefix, positions)  # type: ignore[arg-type]
        # The relay's query of its sections' rows, run in its reading thread.
        rows = _Profiled(relay._rows, in_threads, ("fetch",))
        relay._rows = rows  # type: ignore[assignment]
        reads.append(rows)
        return relay

    in_loop = cProfile.Profile()
    started = time.perf_counter()
    in_loop.enable()
    try:
        rate = await _relay_once(container, js, head, factory)
    finally:
        in_loop.disable()
    wall_s = time.perf_counter() - started
    stats = pstats.Stats(in_loop)
    stats.add(in_threads)
    return {
        "scope": f"Relay.relay_section loop, log 0 to {head:,}, one run"
                 " (event-loop thread + to_thread database calls, merged)",
        "total_s": stats.total_tt,  # type: ignore[attr-defined]
        "wall_s": wall_s,
        "profiled_rate_per_s": rate,
        "read_rows_wall_s": sum(rows.seconds["fetch"] for rows in reads),
        "positions_save_wall_s": positions.seconds["save"],
        "top_cumulative": profile_top(stats, "cumulative", 14),
        "top_tottime": profile_top(stats, "tottime", 14),
    }


# The table -----------------------------------------------------------------------


def relay_row(result: dict[str, Any]) -> str:
    verdict = "PASS" if result["pass"] else "FAIL"
    return (
        f"{'relay':<16}{result['target']:<24}"
        f"{result['measured_per_s']['median']:<20,.0f}{result['baseline_per_s']['median']:<20,.0f}"
        f"{result['ratio']:<9.2f}{len(result['runs']):<6}{verdict}"
    )


def relay_details(result: dict[str, Any]) -> list[str]:
    lines = ["", f"relay, envelopes per second per run ({result['envelopes']:,} envelopes in"
             f" {result['messages']:,} messages, log head {result['log_head']:,}; baseline ="
             " raw js.publish_async of one message per envelope; batched = raw"
             " js.publish_async of the relay's own messages, pre-encoded):"]
    for index, run in enumerate(result["runs"], start=1):
        lines.append(f"  {index}: baseline {run['baseline_per_s']:,.0f}  batched "
                     f"{run['batched_baseline_per_s']:,.0f}  measured "
                     f"{run['measured_per_s']:,.0f}  ratio {run['ratio']:.2f}"
                     f"  ratio to batched {run['ratio_to_batched']:.2f}")
    lines.append(f"  median ratio to batched: {result['ratio_to_batched']:.2f}")
    profile = result["profile"]
    lines.append(f"profile: wall {profile['wall_s']:.2f} s, reading rows "
                 f"{profile['read_rows_wall_s']:.2f} s, positions.save "
                 f"{profile['positions_save_wall_s']:.2f} s; envelopes_of + encode of the"
                 f" whole log unprofiled {result['envelopes_of_and_encode_s']:.2f} s")
    lines.extend(profile_lines(profile))
    return lines


def profile_lines(profile: dict[str, Any], rows: int = 12) -> list[str]:
    lines = [f"profile ({profile['scope']}; {profile['total_s']:.3f} s under cProfile),"
             " top by cumulative time:"]
    for key, title in (("top_cumulative", None), ("top_tottime", "top by own time:")):
        if title:
            lines.append(title)
        for entry in profile[key][:rows]:
            lines.append(f"  {entry['ncalls']:>8} {entry['tottime_s']:>8.3f} "
                         f"{entry['cumtime_s']:>8.3f}  {entry['function']}")
    return lines
