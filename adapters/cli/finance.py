"""Finance commands: `billing reconcile|close-month|resolve-dispute` and
`ledger export`."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from adapters.bootstrap.container import build
from adapters.bootstrap.services import running_services
from adapters.config.settings import Settings
from application.ledger.journal import journal
from domain.errors import DomainError

CSV_COLUMNS = (
    "wallet_id", "account_id", "version", "type", "occurred_at", "posting", "ledger_account",
    "amount_micros", "previous_hash", "entry_hash", "body",
)


def add_billing_commands(sub: Any) -> None:
    billing = sub.add_parser("billing", help="payments, disputes and invoices")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True)
    reconcile = billing_sub.add_parser(
        "reconcile", help="credit paid Checkout Sessions that no webhook delivered")
    reconcile.add_argument("--since", required=True, help="YYYY-MM-DD or an ISO 8601 time")
    reconcile.set_defaults(func=cmd_reconcile)
    close = billing_sub.add_parser("close-month", help="close a month's invoices; idempotent")
    close.add_argument("month", help="YYYY-MM")
    close.add_argument("--account", help="only this account")
    close.add_argument(
        "--draft", action="store_true",
        help="for the month in progress: draft invoices of the month to date")
    close.set_defaults(func=cmd_close_month)
    resolve = billing_sub.add_parser(
        "resolve-dispute", help="resolve a payment dispute; sending resumes")
    resolve.add_argument("--account", required=True)
    resolve.add_argument("--dispute", required=True, help="the dispute id, dp_...")
    resolve.add_argument("--outcome", required=True, choices=("won", "lost", "withdrawn"))
    resolve.add_argument("--note", default="")
    resolve.set_defaults(func=cmd_resolve_dispute)
    for parser in (reconcile, close, resolve):
        parser.add_argument("--data-dir", type=Path)


def add_ledger_commands(ledger_sub: Any) -> None:
    export = ledger_sub.add_parser(
        "export", help="write the journal: entries, postings and hashes")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--output", type=Path, help="a file (default: standard output)")
    export.add_argument("--data-dir", type=Path)
    export.set_defaults(func=cmd_ledger_export)


@contextlib.contextmanager
def _container(settings: Settings) -> Iterator[Any]:
    with running_services(settings, need_nats=False) as services:
        container = build(settings, services.database_url)
        try:
            yield container
        finally:
            container.close()


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    since = _instant(args.since)
    with _container(settings) as container:
        try:
            report = container.billing.reconcile(since)
        except DomainError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
    print(f"sessions listed: {report.sessions}  credited now: {len(report.credited)}")
    for session_id in report.credited:
        print(f"  credited {session_id}")
    return 0


def cmd_close_month(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    with _container(settings) as container:
        try:
            invoices = container.invoices.close_month(
                args.month, now, account_id=args.account, draft=args.draft)
        except DomainError as error:
            in_progress = not args.draft and error.details.get("month") == now.strftime("%Y-%m")
            print(f"error: {error.message}{' (--draft)' if in_progress else ''}",
                  file=sys.stderr)
            return 1
    for invoice in invoices:
        state = f"DRAFT to {invoice.closed_at:%Y-%m-%d %H:%M:%S} UTC" if invoice.draft \
            else "closed"
        print(f"{invoice.month} {invoice.account_id} {invoice.id} {state} closing "
              f"{invoice.closing_micros} micros {invoice.currency}")
    drafts = sum(invoice.draft for invoice in invoices)
    print(f"{len(invoices) - drafts} invoice(s) and {drafts} draft(s) for {args.month}")
    return 0


def cmd_resolve_dispute(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        try:
            container.billing.resolve_dispute(args.account, args.dispute, args.outcome, args.note)
        except DomainError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
    print(f"dispute {args.dispute} resolved ({args.outcome})")
    return 0


def cmd_ledger_export(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container, _output(args.output) as out:
        entries = 0
        if args.format == "csv":
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
        for entry in journal(container.app):
            entries += 1
            head = [str(entry.wallet_id), entry.account_id, entry.version, entry.type,
                    entry.occurred_at.isoformat()]
            if args.format == "jsonl":
                out.write(json.dumps({
                    **dict(zip(CSV_COLUMNS[:5], head, strict=True)),
                    "postings": [list(p) for p in entry.postings],
                    "previous_hash": entry.previous_hash, "entry_hash": entry.entry_hash,
                    "body": entry.body,
                }) + "\n")
                continue
            for index, (account, amount) in enumerate(entry.postings):
                writer.writerow([*head, index, account, amount, entry.previous_hash,
                                 entry.entry_hash, entry.body])
    print(f"exported {entries} entries", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        yield handle


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
