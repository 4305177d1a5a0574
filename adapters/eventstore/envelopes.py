"""Published envelopes straight from stored events.

The relay and every rebuild turn each stored event into its envelope. The
general way rebuilds the domain event first (typed decode, then an object)
and then flattens it back to JSON-shaped data for the envelope: about 14 µs
an event, most of the relay's own work. Our stored state is already JSON
with the envelope's shapes (UUIDs and times as strings, tuples as lists), so
this path decodes it once, untyped, upcasts it as the mapper would, and
picks the contract's fields. A contract test holds both ways equal, byte for
byte, on a mixed workload.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import UnionType
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import resolve_topic

from adapters.eventstore.mapper import MsgspecMapper
from domain.published import CONTRACTS, Contract, Envelope, publish

_decoder = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class _Plan:
    event_class: type
    contract: Contract
    class_version: int
    datetime_fields: tuple[str, ...]
    #: Decodes only what the envelope needs, or None for a contract whose
    #: fields collide with those names.
    picker: msgspec.json.Decoder[Any] | None


# Besides the contract's fields, an envelope needs these of the stored state.
_ENVELOPE_FIELDS = ("timestamp", "account_id", "class_version")


def _picker(contract: Contract) -> msgspec.json.Decoder[Any] | None:
    """A decoder into a struct of the contract's fields and the envelope's.

    msgspec skips the other fields of the state without building them, and
    the struct turns into the data dict in one C call (asdict): together
    about a third cheaper than decoding the whole state into a dict and
    picking from it. The fields stay untyped (Any), so the values are
    exactly what the untyped decode gives.
    """
    if set(contract.fields) & set(_ENVELOPE_FIELDS):
        return None
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
        (name, Any) for name in contract.fields
    ]
    fields += [("timestamp", str), ("account_id", str), ("class_version", int, 1)]
    struct = msgspec.defstruct("Picked", fields, kw_only=True)
    return msgspec.json.Decoder(struct)


def _is_datetime(annotation: object) -> bool:
    if annotation is datetime:
        return True
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        return datetime in typing.get_args(annotation)
    return False


@cache
def _plan(topic: str) -> _Plan | None:
    """How to publish a stored topic; None for events outside the contract.
    Topics are few (one per event class), so the cache stays small."""
    event_class = resolve_topic(topic)
    contract = CONTRACTS.get(event_class)
    if contract is None:
        return None
    hints = typing.get_type_hints(event_class)
    return _Plan(
        event_class=event_class,
        contract=contract,
        class_version=getattr(event_class, "class_version", 1),
        datetime_fields=tuple(f for f in contract.fields if _is_datetime(hints.get(f))),
        picker=_picker(contract),
    )


# A stored event as read straight from the events table: (notification_id,
# originator_id, originator_version, topic, state).
StoredRow = tuple[int, UUID | str, int, str, bytes]


def is_plain(mapper: Mapper) -> bool:  # type: ignore[type-arg]
    return isinstance(mapper, MsgspecMapper) and not mapper.cipher and not mapper.compressor


def envelopes_of(mapper: Mapper, notifications: Sequence[Notification]) -> list[Envelope]:  # type: ignore[type-arg]
    """Published envelopes for stored notifications, skipping internal events."""
    if not is_plain(mapper):
        return _through_domain_events(mapper, notifications)
    return envelopes_of_rows(mapper, [
        (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
    ])


def envelopes_of_rows(mapper: Mapper, rows: Sequence[StoredRow]) -> list[Envelope]:  # type: ignore[type-arg]
    """The same for raw rows of the events table: a rebuild reads a million
    of them, and a Notification object per row costs more than its decode."""
    if not is_plain(mapper):
        return _through_domain_events(mapper, [
            Notification(id=i, originator_id=o, originator_version=v, topic=t, state=s)
            for i, o, v, t, s in rows
        ])
    envelopes = []
    for notification_id, originator_id, originator_version, topic, state in rows:
        plan = _plan(topic)
        if plan is not None:
            envelopes.append(
                _envelope(plan, notification_id, originator_id, originator_version, state)
            )
    return envelopes


def _envelope(
    plan: _Plan, notification_id: int, originator_id: UUID | str, originator_version: int,
    state: bytes,
) -> Envelope:
    contract = plan.contract
    data, timestamp, account_id = _picked(plan, state) or _upcast(plan, state)
    for name in plan.datetime_fields:
        # msgspec writes UTC as "Z"; the contract has always said "+00:00".
        value = data[name]
        if isinstance(value, str) and value.endswith("Z"):
            data[name] = value[:-1] + "+00:00"
    if contract.transform is not None:
        data = contract.transform(data)
    return Envelope(
        id=notification_id,
        type=contract.type,
        version=contract.version,
        occurred_at=datetime.fromisoformat(timestamp),
        account_id=account_id,
        aggregate_id=(
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        ),
        aggregate_version=originator_version,
        data=data,
    )


def _picked(plan: _Plan, state: bytes) -> tuple[dict[str, Any], str, str] | None:
    """The contract's fields, time and account of a state stored at the
    class's current version; None for any other (see _upcast)."""
    if plan.picker is None:
        return None
    try:
        picked = plan.picker.decode(state)
    except msgspec.ValidationError:  # a field missing: an older version
        return None
    if picked.class_version != plan.class_version:
        return None
    data: dict[str, Any] = msgspec.structs.asdict(picked)
    for name in _ENVELOPE_FIELDS:
        del data[name]
    return data, picked.timestamp, picked.account_id


def _upcast(plan: _Plan, state: bytes) -> tuple[dict[str, Any], str, str]:
    """The whole state, upcast as the mapper would, then picked."""
    raw: dict[str, Any] = _decoder.decode(state)
    from_version = raw.pop("class_version", 1)
    while from_version < plan.class_version:
        getattr(plan.event_class, f"upcast_v{from_version}_v{from_version + 1}")(raw)
        from_version += 1
    return {name: raw[name] for name in plan.contract.fields}, raw["timestamp"], raw["account_id"]


def _through_domain_events(
    mapper: Mapper, notifications: Sequence[Notification]  # type: ignore[type-arg]
) -> list[Envelope]:
    envelopes = []
    for notification in notifications:
        envelope = publish(mapper.to_domain_event(notification), notification.id)
        if envelope is not None:
            envelopes.append(envelope)
    return envelopes
