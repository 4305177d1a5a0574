"""Money in: card top-ups through hosted checkout, sandbox top-ups, and the
processor's notifications (payments, refunds, disputes), each credited or
debited exactly once.

A paid checkout session is credited by a top-up whose reference is the
session id, saved with a receipt whose id derives from it, so a session
notified ten times, in any order, by webhook or by reconciliation, credits
once. Refunds debit the increase of the charge's cumulative refund, which the
wallet itself remembers, so repeated and reordered refund notices debit once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.billing.ports import BillingStore, PaymentGateway
from application.errors import NotFound, PaymentsUnavailable, ValidationFailed
from application.ledger.app import LedgerApplication
from application.ledger.wallets import WalletService
from application.ports import AccountDirectory
from domain import ids
from domain.money import minor_units_to_micros
from domain.wallet import TopUpSource, Wallet

log = logging.getLogger(__name__)

SANDBOX_CHECKOUT_URL = "https://sandbox.smsledger.invalid/checkout/"
PURPOSE_TOP_UP = "top_up"
PURPOSE_SETUP = "auto_topup_setup"
PURPOSE_AUTO_TOP_UP = "auto_topup"


@dataclass(frozen=True, slots=True)
class CheckoutLimits:
    min_minor: int
    max_minor: int


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    id: str
    url: str
    amount_minor: int
    currency: str
    topup_ref: str
    sandbox: bool
    credited: bool  # sandbox top-ups are credited at once


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    sessions: int
    credited: list[str]


class BillingService:
    def __init__(
        self,
        app: LedgerApplication,
        wallets: WalletService,
        accounts: AccountDirectory,
        store: BillingStore,
        gateway: PaymentGateway | None,
        limits: CheckoutLimits,
    ) -> None:
        self._app = app
        self._wallets = wallets
        self._accounts = accounts
        self._store = store
        self._gateway = gateway
        self._limits = limits

    @property
    def gateway(self) -> PaymentGateway:
        if self._gateway is None:
            raise PaymentsUnavailable(
                "Card payments are not configured on this server (STRIPE_API_KEY is unset)"
            )
        return self._gateway

    # Checkout -----------------------------------------------------------------

    def checkout(
        self, account_id: str, amount_minor: int, currency: str, *, sandbox: bool
    ) -> CheckoutStarted:
        profile = self._accounts.profile(account_id)
        if currency.upper() != profile.currency:
            raise ValidationFailed(
                "currency must be the account's currency", currency=currency,
                account_currency=profile.currency,
            )
        limits = self._limits
        if not limits.min_minor <= amount_minor <= limits.max_minor:
            raise ValidationFailed(
                f"amount must be between {limits.min_minor} and {limits.max_minor} "
                "minor units", amount=amount_minor, min=limits.min_minor, max=limits.max_minor,
            )
        topup_ref = f"topup_{uuid.uuid4().hex}"
        if sandbox:
            # No processor in sandbox: a fake page, and the money at once.
            self._wallets.top_up(
                ids.wallet_id(account_id, sandbox=True),
                minor_units_to_micros(amount_minor, profile.currency),
                TopUpSource.STRIPE, f"sandbox/{topup_ref}",
            )
            return CheckoutStarted(topup_ref, SANDBOX_CHECKOUT_URL + topup_ref, amount_minor,
                                   profile.currency, topup_ref, True, True)
        gateway = self.gateway
        session = gateway.create_checkout(
            customer_ref=self.customer_ref(account_id), amount_minor=amount_minor,
            currency=profile.currency,
            metadata={"account_id": account_id, "topup_ref": topup_ref,
                      "purpose": PURPOSE_TOP_UP},
            idempotency_key=topup_ref,
        )
        return CheckoutStarted(session.id, session.url, amount_minor, profile.currency,
                               topup_ref, False, False)

    def customer_ref(self, account_id: str) -> str:
        """The account's customer at the processor, created on first use."""
        known = self._store.customer(account_id)
        if known is not None:
            return known.customer_ref
        created = self.gateway.create_customer(
            account_id, idempotency_key=f"customer/{account_id}"
        )
        return self._store.save_customer(account_id, created).customer_ref

    # Crediting sessions ---------------------------------------------------------

    def credit_session(self, session: Mapping[str, Any]) -> bool:
        """Credit a paid payment session once; False when it is not (yet)
        paid, not ours, or credited before."""
        metadata = session.get("metadata") or {}
        account_id = metadata.get("account_id")
        if (
            session.get("mode") != "payment"
            or session.get("payment_status") != "paid"
            or metadata.get("purpose") != PURPOSE_TOP_UP
            or not account_id
        ):
            return False
        currency = str(session.get("currency") or "").upper()
        profile = self._accounts.profile(account_id)
        if currency != profile.currency:
            log.error("session %s is in %s, the account bills in %s; not credited",
                      session.get("id"), currency, profile.currency)
            return False
        payment_ref = session.get("payment_intent")
        if isinstance(payment_ref, str):
            self._store.remember_payment(payment_ref, account_id, str(session["id"]))
        result = self._wallets.top_up(
            ids.wallet_id(account_id, sandbox=False),
            minor_units_to_micros(int(session["amount_total"]), currency),
            TopUpSource.STRIPE, str(session["id"]),
        )
        return result.credited

    def save_setup(self, session: Mapping[str, Any]) -> bool:
        """A completed setup session: keep its payment method, and switch on
        the auto top-up the customer asked for when they started it."""
        metadata = session.get("metadata") or {}
        account_id = metadata.get("account_id")
        setup_ref = session.get("setup_intent")
        if metadata.get("purpose") != PURPOSE_SETUP or not account_id or not setup_ref:
            return False
        method = self.gateway.payment_method_of_setup(str(setup_ref))
        self._store.save_payment_method(account_id, method)
        wallet_id = ids.wallet_id(account_id, sandbox=False)

        def enable(wallet: Wallet) -> None:
            wallet.configure_auto_topup(
                enabled=True, threshold_micros=int(metadata["threshold_micros"]),
                amount_micros=int(metadata["amount_micros"]),
            )
            self._app.record(wallet)

        self._app.run_on_wallet(wallet_id, enable)
        return True

    # Refunds and disputes -------------------------------------------------------

    def refund(self, charge: Mapping[str, Any]) -> bool:
        account_id = self._account_of(charge)
        currency = str(charge.get("currency") or "").upper()
        refunded_micros = minor_units_to_micros(int(charge["amount_refunded"]), currency)

        def debit(wallet: Wallet) -> bool:
            moved = wallet.refund(str(charge["id"]), refunded_micros)
            if moved:
                self._app.record(wallet)
            return moved

        return self._app.run_on_wallet(ids.wallet_id(account_id, sandbox=False), debit)

    def open_dispute(self, dispute: Mapping[str, Any]) -> bool:
        account_id = self._account_of(dispute)
        currency = str(dispute.get("currency") or "").upper()

        def freeze(wallet: Wallet) -> bool:
            opened = wallet.open_dispute(
                str(dispute["id"]), str(dispute.get("charge") or ""),
                minor_units_to_micros(int(dispute.get("amount") or 0), currency),
                str(dispute.get("reason") or ""),
            )
            if opened:
                self._app.record(wallet)
            return opened

        return self._app.run_on_wallet(ids.wallet_id(account_id, sandbox=False), freeze)

    def resolve_dispute(self, account_id: str, dispute_id: str, outcome: str, note: str) -> None:
        """An operator's decision: sending resumes once no dispute is open."""

        def resolve(wallet: Wallet) -> None:
            wallet.resolve_dispute(dispute_id, outcome, note)
            self._app.record(wallet)

        self._app.run_on_wallet(ids.wallet_id(account_id, sandbox=False), resolve)

    def _account_of(self, payment_object: Mapping[str, Any]) -> str:
        payment_ref = payment_object.get("payment_intent")
        account_id = self._store.account_of_payment(str(payment_ref)) if payment_ref else None
        account_id = account_id or (payment_object.get("metadata") or {}).get("account_id")
        if not account_id:
            raise NotFound("No account paid with this payment", payment_intent=payment_ref)
        return str(account_id)

    # Reconciliation -------------------------------------------------------------

    def reconcile(self, since: datetime) -> ReconcileReport:
        """Credit every paid session since `since` that no notification credited."""
        seen, credited = 0, []
        for session in self.gateway.sessions_created_since(since):
            seen += 1
            if self.credit_session(session):
                credited.append(str(session["id"]))
        return ReconcileReport(seen, credited)
