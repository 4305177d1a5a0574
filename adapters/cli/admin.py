"""Admin commands: `accounts create` and `ledger verify`."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.bootstrap.container import build, migrate_database
from adapters.bootstrap.services import running_services
from adapters.cli import finance
from adapters.config.settings import Settings
from domain import ids
from domain.errors import DomainError
from domain.messaging.phone import KNOWN_COUNTRIES
from domain.messaging.sender import sender_kind
from domain.money import ensure_currency, micros_to_decimal, parse_amount_micros
from domain.wallet import TopUpSource


def add_commands(sub: Any) -> None:
    accounts = sub.add_parser("accounts", help="manage accounts")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    create = accounts_sub.add_parser("create", help="create an account, its wallets and a key")
    create.add_argument("--name", required=True)
    create.add_argument("--currency", default="GBP")
    create.add_argument("--credit", default="0", help="opening credit, e.g. 10.00")
    create.add_argument("--country", default=None, help="default country, e.g. GB")
    create.add_argument(
        "--sender-id", action="append", default=[], dest="sender_ids",
        help="a sender ID approved for live sends at once (repeatable)",
    )
    create.add_argument(
        "--numeric-senders", action="store_true", help="allow sending from phone numbers"
    )
    output = create.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON for scripts")
    output.add_argument(
        "--shell", action="store_true", help="print export lines for eval in a shell"
    )
    create.add_argument("--data-dir", type=Path)
    create.set_defaults(func=cmd_accounts_create)

    ledger = sub.add_parser("ledger", help="finance tools")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_sub.add_parser("verify", help="replay every wallet and check the ledger")
    verify.add_argument("--data-dir", type=Path)
    verify.set_defaults(func=cmd_ledger_verify)
    balance = ledger_sub.add_parser("balance", help="an account's balance, now or as of a time")
    balance.add_argument("--account", required=True)
    balance.add_argument("--as-of", help="ISO 8601 time with a timezone")
    balance.add_argument("--sandbox", action="store_true")
    balance.add_argument("--data-dir", type=Path)
    balance.set_defaults(func=cmd_ledger_balance)
    finance.add_ledger_commands(ledger_sub)
    finance.add_billing_commands(sub)


def cmd_accounts_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        currency = ensure_currency(args.currency.upper())
        credit_micros = parse_amount_micros(args.credit, currency)
        country = _country(args.country)
        for sender_id in args.sender_ids:
            sender_kind(sender_id)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    with running_services(settings, need_nats=False) as services:
        migrate_database(services.database_url)
        container = build(settings, services.database_url)
        try:
            profile = container.accounts.create_account(args.name, currency, country)
            live_wallet, _sandbox_wallet = container.wallets.open_wallets(
                profile.account_id, currency
            )
            if credit_micros > 0:
                container.wallets.top_up(
                    live_wallet, credit_micros, TopUpSource.ADJUSTMENT,
                    f"opening-credit/{profile.account_id}",
                )
            for sender_id in args.sender_ids:
                request = container.sender_ids.request(profile.account_id, sender_id)
                container.sender_ids.approve(request.id, operator=None)
            if args.numeric_senders:
                container.sender_ids.allow_numeric_senders(profile.account_id, True)
            key = container.accounts.issue_key(profile.account_id, sandbox=False, name="default")
        finally:
            container.close()
    if args.json:
        print(json.dumps({"account_id": profile.account_id, "api_key": key.api_key,
                          "api_secret": key.api_secret}))
    elif args.shell:
        print(f"export SMSLEDGER_ACCOUNT_ID={shlex.quote(profile.account_id)}")
        print(f"export SMSLEDGER_API_KEY={shlex.quote(key.api_key)}")
        print(f"export SMSLEDGER_API_SECRET={shlex.quote(key.api_secret)}")
        # Where that instance's API answers (--port 0 picks any port).
        print(f"export SMSLEDGER_URL={shlex.quote(settings.api_base_url())}")
    else:
        print(f"account_id: {profile.account_id}")
        print(f"api_key:    {key.api_key}")
        print(f"api_secret: {key.api_secret}")
        print(f"credit:     {micros_to_decimal(credit_micros)} {currency}")
        print("The secret is shown once; store it now.")
    return 0


def cmd_ledger_verify(args: argparse.Namespace, settings: Settings) -> int:
    with running_services(settings, need_nats=False) as services:
        container = build(settings, services.database_url)
        try:
            report = container.verifier.verify()
        finally:
            container.close()
    print(f"wallets: {report.wallets}  events: {report.events}  money entries: {report.entries}")
    for account, total in sorted(report.account_totals_micros.items()):
        if not account.startswith(("wallet:", "holds:")):
            print(f"  {account}: {total} micros")
    if report.ok:
        print("ledger verified: postings balance, chains intact, replay equals live")
        return 0
    for problem in report.problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    print(f"ledger verification FAILED with {len(report.problems)} problem(s)", file=sys.stderr)
    return 1


def cmd_ledger_balance(args: argparse.Namespace, settings: Settings) -> int:
    wallet_id = ids.wallet_id(args.account, sandbox=args.sandbox)
    with running_services(settings, need_nats=False) as services:
        container = build(settings, services.database_url)
        try:
            if args.as_of:
                balance = container.wallets.balance_as_of(
                    wallet_id, datetime.fromisoformat(args.as_of)
                )
            else:
                balance = container.wallets.balance(wallet_id)
        except DomainError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        finally:
            container.close()
    print(json.dumps({
        "wallet_id": str(balance.wallet_id), "currency": balance.currency,
        "balance_micros": balance.balance_micros, "reserved_micros": balance.reserved_micros,
        "credit_limit_micros": balance.credit_limit_micros,
        "available_micros": balance.available_micros, "version": balance.version,
    }))
    return 0


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    country = value.upper()
    if country not in KNOWN_COUNTRIES:
        raise DomainError(
            "--country is an ISO 3166 alpha-2 code of a supported country, e.g. GB",
            country=value,
        )
    return country
