"""Auto top-up: the customer's rule, and the policy that carries it out.

The wallet raises `AutoTopUpRequested` in the same save as the debit that
took the balance below the rule's threshold, and raises no other while one is
in flight. This policy reads those requests from the event store's log, in
order, from its last position, and charges the saved payment method off
session with an idempotency key derived from the request, so a policy that
stopped after charging and before recording charges nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from application.billing.payments import PURPOSE_AUTO_TOP_UP, PURPOSE_SETUP, BillingService
from application.billing.ports import BillingStore, PaymentGateway, PolicyPositions
from application.errors import Conflict, PaymentsUnavailable
from application.ledger.app import LedgerApplication
from application.ledger.topics import stored_topics
from domain import ids
from domain.money import micros_to_minor_units_ceiling, minor_units_to_micros
from domain.receipt import TopUpReceipt
from domain.wallet import TopUpSource, Wallet

log = logging.getLogger(__name__)

POSITION_NAME = "auto_topup"
MAX_REQUESTS_PER_RUN = 100
# Requests written before the event moved into Wallet keep their old topic.
_REQUEST_TOPICS = stored_topics(Wallet.AutoTopUpRequested)


@dataclass(frozen=True, slots=True)
class AutoTopUpSettings:
    enabled: bool
    threshold_minor: int
    amount_minor: int
    currency: str
    setup_url: str | None  # where to save a card first, when none is saved


class AutoTopUp:
    def __init__(
        self,
        app: LedgerApplication,
        billing: BillingService,
        store: BillingStore,
        gateway: PaymentGateway | None,
        positions: PolicyPositions,
    ) -> None:
        self._app = app
        self._billing = billing
        self._store = store
        self._gateway = gateway
        self._positions = positions

    def configure(
        self, account_id: str, *, sandbox: bool, enabled: bool, threshold_minor: int,
        amount_minor: int,
    ) -> AutoTopUpSettings:
        """Set the rule. Enabling a live rule needs a saved payment method: without
        one, the rule waits, off, for the setup page this returns."""
        wallet_id = ids.wallet_id(account_id, sandbox=sandbox)
        with self._app.locked_wallet(wallet_id) as wallet:
            currency = wallet.currency
        threshold = minor_units_to_micros(threshold_minor, currency)
        amount = minor_units_to_micros(amount_minor, currency)
        setup_url = None
        if enabled and not sandbox:
            customer = self._store.customer(account_id)
            if customer is None or customer.payment_method_ref is None:
                setup_url = self._setup_page(account_id, currency, threshold, amount)
                enabled = False

        def configure(wallet: Wallet) -> None:
            wallet.configure_auto_topup(
                enabled=enabled, threshold_micros=threshold, amount_micros=amount
            )
            self._app.record(wallet)

        self._app.run_on_wallet(wallet_id, configure)
        return AutoTopUpSettings(enabled, threshold_minor, amount_minor, currency, setup_url)

    def _setup_page(self, account_id: str, currency: str, threshold: int, amount: int) -> str:
        if self._gateway is None:
            raise PaymentsUnavailable(
                "Card payments are not configured on this server (STRIPE_API_KEY is unset)"
            )
        session = self._gateway.create_setup_checkout(
            customer_ref=self._billing.customer_ref(account_id), currency=currency,
            metadata={"account_id": account_id, "purpose": PURPOSE_SETUP,
                      "threshold_micros": str(threshold), "amount_micros": str(amount)},
            idempotency_key=f"setup/{account_id}/{threshold}/{amount}",
        )
        return session.url

    # The policy -------------------------------------------------------------------

    def run_once(self) -> int:
        """Handle the requests recorded since the last run; returns how many."""
        position = self._positions.get(POSITION_NAME)
        section = self._app.recorder.select_notifications(
            position, MAX_REQUESTS_PER_RUN, topics=_REQUEST_TOPICS, inclusive_of_start=False,
        )
        for notification in section:
            self._carry_out(UUID(str(notification.originator_id)),
                            notification.originator_version)
            self._positions.set(POSITION_NAME, notification.id)
        return len(section)

    def _carry_out(self, wallet_id: UUID, request_version: int) -> None:
        with self._app.locked_wallet(wallet_id) as wallet:
            if not wallet.auto_topup_in_flight:
                return  # its outcome is recorded already
            account_id, sandbox = wallet.account_id, wallet.sandbox
            currency, amount = wallet.currency, wallet.auto_topup_amount_micros
        if sandbox:
            self._record(wallet_id, request_version, f"sandbox-auto-topup/{request_version}",
                         amount, "")
            return
        customer = self._store.customer(account_id)
        if self._gateway is None or customer is None or customer.payment_method_ref is None:
            self._record(wallet_id, request_version, "", 0, "no saved payment method")
            return
        result = self._gateway.charge_off_session(
            customer_ref=customer.customer_ref, payment_method_ref=customer.payment_method_ref,
            amount_minor=micros_to_minor_units_ceiling(amount, currency), currency=currency,
            metadata={"account_id": account_id, "purpose": PURPOSE_AUTO_TOP_UP},
            idempotency_key=f"auto-topup/{wallet_id}/{request_version}",
        )
        if result.succeeded:
            self._store.remember_payment(result.payment_ref, account_id, "")
        self._record(wallet_id, request_version, result.payment_ref,
                     amount if result.succeeded else 0, result.failure)

    def _record(
        self, wallet_id: UUID, request_version: int, payment_ref: str, amount_micros: int,
        failure: str,
    ) -> None:
        """Credit a successful charge and close the request, in one save."""

        def record(wallet: Wallet, *, credit: bool) -> None:
            saved = []
            if credit and amount_micros:
                wallet.top_up(amount_micros, TopUpSource.STRIPE, payment_ref)
                saved.append(TopUpReceipt.record(
                    wallet.id, str(TopUpSource.STRIPE), payment_ref, amount_micros))
            wallet.record_auto_topup(request_version, payment_ref=payment_ref, failure=failure)
            self._app.record(wallet, *saved)

        try:
            self._app.run_on_wallet(wallet_id, lambda w: record(w, credit=True))
        except Conflict:
            # Credited before, by an earlier run that stopped short of closing.
            self._app.run_on_wallet(wallet_id, lambda w: record(w, credit=False))
