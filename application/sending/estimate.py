"""What a send would cost, without sending or charging anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from application.errors import ValidationFailed
from application.ledger.wallets import WalletService
from application.ports import AccountDirectory
from application.sending.send import (
    MAX_BULK_RECIPIENTS,
    MessagingService,
    Rejection,
    prepare_recipient,
)
from domain import ids
from domain.errors import DomainError
from domain.messaging.templates import Template

_NO_ID = UUID(int=0)


@dataclass(frozen=True, slots=True)
class EstimateRequest:
    account_id: str
    to: Sequence[str]
    body: str
    variables: Mapping[str, object] = field(default_factory=dict)
    unicode: bool = False
    sandbox: bool = False


@dataclass(frozen=True, slots=True)
class Estimate:
    recipients: int
    length: int  # characters of the first rendered body
    segments: int  # per message, of the first rendered body
    encoding: str
    cost_micros: int
    currency: str
    balance_micros: int
    available_micros: int
    can_afford: bool
    rejections: tuple[Rejection, ...]


class Estimator:
    def __init__(
        self, messaging: MessagingService, accounts: AccountDirectory, wallets: WalletService
    ) -> None:
        self._messaging = messaging
        self._accounts = accounts
        self._wallets = wallets

    def estimate(self, request: EstimateRequest) -> Estimate:
        if not 1 <= len(request.to) <= MAX_BULK_RECIPIENTS:
            raise ValidationFailed(f"An estimate covers 1 to {MAX_BULK_RECIPIENTS} recipients")
        profile = self._accounts.profile(request.account_id)
        card = self._messaging.card_for(profile, sandbox=request.sandbox)
        template = Template.parse(request.body)
        total_micros, first, rejections = 0, None, []
        for index, to in enumerate(request.to):
            try:
                recipient = prepare_recipient(
                    _NO_ID, to, template, request.variables, profile, card,
                    force_unicode=request.unicode,
                )
            except DomainError as error:
                rejections.append(Rejection(index, to, error.code, error.message))
                continue
            first = first or recipient
            total_micros += recipient.price_micros
        if first is None:
            raise ValidationFailed("No recipient can be sent to",
                                   rejected=[r.to for r in rejections[:100]])
        balance = self._wallets.balance(ids.wallet_id(request.account_id, sandbox=request.sandbox))
        return Estimate(
            recipients=len(request.to) - len(rejections),
            length=len(first.body),
            segments=first.segments,
            encoding=first.encoding,
            cost_micros=total_micros,
            currency=profile.currency,
            balance_micros=balance.balance_micros,
            available_micros=balance.available_micros,
            can_afford=total_micros <= balance.available_micros,
            rejections=tuple(rejections),
        )
