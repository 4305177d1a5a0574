"""Ledger verification: replay every wallet and check what finance relies on.

For each wallet: each money entry's postings sum to zero; each entry's hash
follows from the previous one (card top-ups, usage, refunds and adjustments
alike); no payment reference is credited twice; the balance replayed from
the first event equals the live one (which comes from the latest snapshot plus later events,
or from memory), billing state included (disputes, flags, refunded charges,
auto top-up); and the open holds add up to the reserved amount.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.utils import get_topic

from application.ledger.app import LedgerApplication
from domain import ledger
from domain.wallet import Wallet, verify_entry

SCAN_SECTION_SIZE = 1000


@dataclass
class VerificationReport:
    wallets: int = 0
    events: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    account_totals_micros: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


class LedgerVerifier:
    def __init__(self, app: LedgerApplication) -> None:
        self._app = app

    def wallet_ids(self) -> Iterator[UUID]:
        """Every opened wallet, found from the log in bounded sections."""
        topic = get_topic(Wallet.Opened)
        start = 0
        while True:
            section = self._app.recorder.select_notifications(
                start, SCAN_SECTION_SIZE, topics=[topic], inclusive_of_start=False
            )
            for notification in section:
                yield UUID(str(notification.originator_id))
            if len(section) < SCAN_SECTION_SIZE:
                return
            start = section[-1].id

    def verify(self, progress: Callable[[int], None] | None = None) -> VerificationReport:
        report = VerificationReport()
        for wallet_id in self.wallet_ids():
            self.verify_wallet(wallet_id, report)
            report.wallets += 1
            if progress is not None:
                progress(report.wallets)
        total = sum(report.account_totals_micros.values())
        if total != 0:
            report.problems.append(f"ledger accounts sum to {total} micros, not zero")
        return report

    def verify_wallet(self, wallet_id: UUID, report: VerificationReport) -> None:
        replayed: Wallet | None = None
        previous_hash = ledger.GENESIS_HASH
        credited: set[tuple[str, str]] = set()
        # Summed locally and merged once: a Counter update per posting is a
        # large share of a replay's time.
        totals: dict[str, int] = {}
        for event in self._app.events.get(wallet_id):
            report.events += 1
            if isinstance(event, Wallet.ToppedUp):
                # A payment reference is credited once, whatever its source.
                if (event.source, event.external_ref) in credited:
                    report.problems.append(
                        f"wallet {wallet_id} v{event.originator_version}: "
                        f"{event.source} {event.external_ref} credited twice")
                credited.add((event.source, event.external_ref))
            if isinstance(event, Wallet.MoneyMoved):
                report.entries += 1
                if ledger.postings_balance(event.postings) != 0:
                    report.problems.append(
                        f"wallet {wallet_id} v{event.originator_version}: "
                        "postings do not sum to zero")
                if not verify_entry(previous_hash, event):
                    report.problems.append(
                        f"wallet {wallet_id} v{event.originator_version}: hash chain broken")
                previous_hash = event.entry_hash
                for account, amount_micros in event.postings:
                    totals[account] = totals.get(account, 0) + amount_micros
            replayed = event.mutate(replayed)  # type: ignore[attr-defined]
        report.account_totals_micros.update(totals)
        if replayed is None:
            report.problems.append(f"wallet {wallet_id}: no events")
            return
        self._compare_live(wallet_id, replayed, report)

    def _compare_live(self, wallet_id: UUID, replayed: Wallet, report: VerificationReport) -> None:
        if sum(replayed.holds.values()) != replayed.reserved_micros:
            report.problems.append(
                f"wallet {wallet_id}: open holds {sum(replayed.holds.values())} "
                f"!= reserved {replayed.reserved_micros}"
            )
        with self._app.locked_wallet(wallet_id) as live:
            if live.version > replayed.version:
                return  # written after our replay began; checked next run
            mismatches = [
                f"{name} live={getattr(live, name)} replayed={getattr(replayed, name)}"
                for name in (
                    "balance_micros",
                    "reserved_micros",
                    "credit_limit_micros",
                    "last_entry_hash",
                    "holds",
                    "flagged",
                    "open_disputes",
                    "refunded_by_charge",
                    "auto_topup_enabled",
                    "auto_topup_in_flight",
                    "auto_topup_failures",
                )
                if getattr(live, name) != getattr(replayed, name)
            ]
        for mismatch in mismatches:
            report.problems.append(f"wallet {wallet_id}: {mismatch}")
