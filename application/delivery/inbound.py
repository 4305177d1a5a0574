"""Inbound messages: route each to its account, record it, act on STOP/START."""

from __future__ import annotations

import logging
from typing import Protocol
from uuid import UUID

from application.contacts.ports import OptOutRegistry
from application.delivery.carriers import InboundMessage as CarrierInbound
from application.ledger.app import LedgerApplication
from domain.errors import DomainError
from domain.inbound import InboundMessage, OptAction
from domain.messaging.phone import parse_carrier_number

log = logging.getLogger(__name__)


class InboundRouter(Protocol):
    def account_for(self, source: str) -> str | None:
        """The account that last wrote to this number, if any."""
        ...

    def country_for(self, carrier: str, route: str | None) -> str | None:
        """The country of the route a message came by, to read national
        numbers with (see routing.reply_country)."""
        ...


class InboundService:
    def __init__(
        self, app: LedgerApplication, router: InboundRouter, opt_outs: OptOutRegistry
    ) -> None:
        self._app = app
        self._router = router
        self._opt_outs = opt_outs

    def receive(self, inbound: CarrierInbound) -> UUID | None:
        """Record an inbound message for the account it answers; None when no
        account ever wrote to the sender (it is logged, not stored)."""
        source = self._sender(inbound)
        account_id = self._router.account_for(source)
        if account_id is None:
            log.warning("inbound from %s (written %r, TON %d, NPI %d) via %s matches no"
                        " account; dropped", source, inbound.source, inbound.source_ton,
                        inbound.source_npi, inbound.carrier)
            return None
        message = InboundMessage.receive(
            account_id=account_id, carrier=inbound.carrier, source=source,
            destination=inbound.destination, body=inbound.body,
        )
        self._app.record(message)
        action = message.opt_action
        if action != OptAction.NONE:
            self._opt_outs.record(account_id, source, action, source="keyword",
                                  keyword=inbound.body.strip().upper())
        return message.id

    def _sender(self, inbound: CarrierInbound) -> str:
        """The sender in E.164, the form sends and opt-outs are compared in,
        however the carrier wrote it; a short code or a name as it came."""
        try:
            return parse_carrier_number(
                inbound.source, ton=inbound.source_ton, npi=inbound.source_npi,
                country=self._router.country_for(inbound.carrier, inbound.route),
            ).e164
        except DomainError:
            return inbound.source
