"""Benchmarks of the contact base and campaigns, each against a baseline in
the same run, on the same database, alternating, medians reported.

    python -m bench.bench_contacts [--runs N] [--only import|campaign]

- import: 100,000 CSV rows (phone,name,email,tier) into a group, through the
  product's streaming path (CsvRecords, the import session, its chunked
  upserts, memberships and progress row) without HTTP. Baseline: COPY of the
  same CSV bytes into a table of four text columns: the least work that makes
  the rows durable. Also the peak of Python memory (tracemalloc) of one
  import, against the size of the file.
- campaign: the executor turning 100,000 listed recipients into messages, in
  chunks of 1,000 with one reservation each. Baseline: the bulk path
  (MessagingService.send_bulk) accepting the same 100,000 recipients as ten
  10,000-recipient bulks. Listing, submitting and approving are not timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from typing import Any
from uuid import UUID

import psycopg

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from application.campaigns.commands import CreateCampaign
from application.contacts.csv_stream import CsvRecords
from application.contacts.imports import ImportSession, take_csv_records
from application.contacts.ports import Audience
from application.sending.send import BulkRecipient, SendBulk
from bench.harness import (
    SENDER,
    TEMPLATE,
    BenchAccount,
    alternate,
    bench_database,
    create_account,
    machine_info,
    progress,
    summary,
    uk_mobile,
    variables_for,
)

ROWS = 100_000
PIECE_BYTES = 64 * 1024  # what an HTTP body arrives in
BULK = 10_000
RAW_CONTACTS_DDL = "CREATE TABLE bench_raw_contacts (phone text, name text, email text, tier text)"


def csv_bytes(rows: int = ROWS) -> bytes:
    lines = ["phone,name,email,tier"]
    lines += [f"{uk_mobile(i)},Customer{i} Smith,c{i}@example.com,tier{i % 5}"
              for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def import_once(container: Container, data: bytes) -> float:
    account = create_account(container, "Bench import")
    group = container.crm.contacts.create_group(account.account_id, "All")
    started = time.perf_counter()
    report = stream_import(container, account, UUID(group["id"]), data)
    elapsed = time.perf_counter() - started
    assert (report.tally.created, report.tally.invalid) == (ROWS, 0), report.tally
    return elapsed


def stream_import(container: Container, account: BenchAccount, group_id: UUID,
                  data: bytes) -> Any:
    """What POST /v1/contacts/groups/{id}/import does, minus HTTP."""
    session = ImportSession(container.crm.imports, container.accounts, account.account_id,
                            group_id, "csv")
    records = CsvRecords()
    header = None
    for start in range(0, len(data), PIECE_BYTES):
        header = take_csv_records(session, header, records.feed(data[start:start + PIECE_BYTES]))
    take_csv_records(session, header, records.finish())
    return session.finish()


def copy_raw(conn: psycopg.Connection[Any], data: bytes) -> float:
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor, cursor.copy(
        "COPY bench_raw_contacts FROM STDIN (FORMAT csv, HEADER true)"
    ) as copy:
        for start in range(0, len(data), PIECE_BYTES):
            copy.write(data[start:start + PIECE_BYTES])
    return time.perf_counter() - started


def run_import(container: Container, url: str, runs: int) -> dict[str, Any]:
    progress(f"import: {runs} alternating runs of {ROWS:,} CSV rows vs raw COPY")
    data = csv_bytes()
    with psycopg.connect(url) as conn:
        conn.execute(RAW_CONTACTS_DDL)
        conn.commit()
        copy_raw(conn, data)  # warm-ups
        import_once(container, data)
        baselines, measures = alternate(lambda: copy_raw(conn, data),
                                        lambda: import_once(container, data), runs)
    progress("import: peak Python memory of one import (tracemalloc)")
    account = create_account(container, "Bench import memory")
    group = container.crm.contacts.create_group(account.account_id, "All")
    tracemalloc.start()
    stream_import(container, account, UUID(group["id"]), data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    measured, baseline = statistics.median(measures), statistics.median(baselines)
    return {
        "rows": ROWS, "csv_bytes": len(data),
        "measured_s": summary(measures), "baseline_s": summary(baselines),
        "rows_per_s": ROWS / measured, "raw_copy_rows_per_s": ROWS / baseline,
        "ratio": measured / baseline,
        "peak_traced_bytes": peak,
    }


def campaign_ready(container: Container, account: BenchAccount) -> UUID:
    """A campaign of ROWS recipients, listed, submitted and approved."""
    campaigns = container.crm.campaigns
    campaign = campaigns.create(CreateCampaign(
        account_id=account.account_id, sandbox=False, name="Bench", sender=SENDER,
        body=TEMPLATE))
    for start in range(0, ROWS, BULK):
        campaigns.add_recipients(account.account_id, False, campaign.id, [
            BulkRecipient(uk_mobile(i), variables_for(i)) for i in range(start, start + BULK)
        ], Audience())
    campaigns.submit(account.account_id, False, campaign.id, "bench")
    campaigns.approve(campaign.id, "bench")
    return campaign.id


def execute_once(container: Container) -> float:
    account = create_account(container, "Bench campaign")
    campaign_id = campaign_ready(container, account)
    started = time.perf_counter()
    while container.crm.executor.run_once():
        pass
    elapsed = time.perf_counter() - started
    done = container.crm.campaigns.get(account.account_id, False, campaign_id)
    assert (done.status, done.accepted) == ("completed", ROWS), (done.status, done.accepted)
    return elapsed


def bulk_once(container: Container) -> float:
    account = create_account(container, "Bench bulk path")
    commands = [
        SendBulk(account_id=account.account_id, sender=SENDER, body=TEMPLATE, recipients=[
            BulkRecipient(uk_mobile(i), variables_for(i)) for i in range(start, start + BULK)])
        for start in range(0, ROWS, BULK)
    ]
    started = time.perf_counter()
    accepted = sum(container.messaging.send_bulk(command).accepted for command in commands)
    elapsed = time.perf_counter() - started
    assert accepted == ROWS
    return elapsed


def run_campaign(container: Container, runs: int) -> dict[str, Any]:
    progress(f"campaign: {runs} alternating runs, executor vs bulk path, {ROWS:,} recipients")
    bulk_once(container)  # warm-ups
    execute_once(container)
    baselines, measures = alternate(lambda: bulk_once(container),
                                    lambda: execute_once(container), runs)
    measured, baseline = statistics.median(measures), statistics.median(baselines)
    return {
        "recipients": ROWS, "chunk_recipients": 1_000,
        "measured_s": summary(measures), "baseline_s": summary(baselines),
        "messages_per_s": ROWS / measured, "bulk_messages_per_s": ROWS / baseline,
        "ratio": measured / baseline,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_contacts")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("import", "campaign"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with bench_database() as db:
        container = build(Settings.from_env({}), db.url)
        try:
            results["machine"] = machine_info(db.url)
            if args.only in (None, "import"):
                results["import"] = run_import(container, db.url, args.runs)
            if args.only in (None, "campaign"):
                results["campaign"] = run_campaign(container, args.runs)
        finally:
            container.close()
    for name in ("import", "campaign"):
        if name in results:
            r = results[name]
            print(f"{name:<9} measured {r['measured_s']['median']:.3f} s  baseline "
                  f"{r['baseline_s']['median']:.3f} s  ratio {r['ratio']:.2f}x")
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
