"""A top-up receipt: one per external payment reference.

Its id is derived from the wallet, the source and the reference, and it is
saved in the same transaction as the wallet's ToppedUp event, so a replayed
payment notification fails on the store's unique constraint instead of
crediting twice.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import top_up_receipt_id


class TopUpReceipt(Aggregate):
    class Recorded(Aggregate.Created):
        wallet_id: UUID
        source: str
        external_ref: str
        amount_micros: int

    def __init__(self, wallet_id: UUID, source: str, external_ref: str, amount_micros: int) -> None:
        self.wallet_id = wallet_id
        self.source = source
        self.external_ref = external_ref
        self.amount_micros = amount_micros

    @classmethod
    def record(
        cls, wallet_id: UUID, source: str, external_ref: str, amount_micros: int
    ) -> TopUpReceipt:
        return cls._create(
            cls.Recorded,
            id=top_up_receipt_id(wallet_id, source, external_ref),
            wallet_id=wallet_id,
            source=source,
            external_ref=external_ref,
            amount_micros=amount_micros,
        )
