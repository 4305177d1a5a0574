"""Identifiers that are derived, not random, wherever saving twice must fail.

Two requests that mean the same thing get the same ids, so the second save
hits the event store's unique (originator_id, originator_version) constraint
instead of charging twice.
"""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1d0c1e-3a7b-5b8e-9a40-5d1b6c0f2e77")


def wallet_id(account_id: str, *, sandbox: bool) -> UUID:
    return uuid5(NAMESPACE, f"wallet/{account_id}/{'sandbox' if sandbox else 'live'}")


def keyed_message_id(account_id: str, idempotency_key: str, index: int) -> UUID:
    return uuid5(NAMESPACE, f"{account_id}/{idempotency_key}/{index}")


def keyed_batch_id(account_id: str, idempotency_key: str) -> UUID:
    return uuid5(NAMESPACE, f"{account_id}/{idempotency_key}/batch")


def top_up_receipt_id(wallet: UUID, source: str, external_ref: str) -> UUID:
    return uuid5(NAMESPACE, f"top-up/{wallet}/{source}/{external_ref}")


def invoice_id(account_id: str, month: str) -> UUID:
    return uuid5(NAMESPACE, f"invoice/{account_id}/{month}")


def campaign_message_id(campaign_id: UUID, seq: int) -> UUID:
    """The message for a campaign's recipient number `seq`: a chunk sent
    twice would collide on it in the store instead of sending twice."""
    return uuid5(NAMESPACE, f"campaign/{campaign_id}/{seq}")
