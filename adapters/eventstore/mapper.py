"""Stored-event encoding with msgspec.

The library's default JSON transcoder spends most of a bulk send's budget on
`json` and its per-type hooks. msgspec encodes UUIDs, datetimes and tuples
natively, and decoding goes through a typed struct built once per event class
from the class's own annotations, so stored events come back with their exact
types. Stored events are an internal contract: the published envelope is a
separate, versioned struct.
"""

from __future__ import annotations

import typing
from dataclasses import fields
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any

import msgspec
from eventsourcing.domain import CanSnapshotAggregate, DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from adapters.eventstore.topics import register_former_topics
from domain.message import ACCEPTED_RECIPIENT_FIELDS, Message
from domain.messaging.accepted_batch import AcceptedBatch
from domain.messaging.sandbox import sandbox_carrier_id

# Rows written before an event class moved name it by its old topic, which
# `resolve_topic` must know before it meets such a row.
register_former_topics()

_ENVELOPE_FIELDS = frozenset({"originator_id", "originator_version"})
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


@cache
def _state_type(event_class: type) -> type[msgspec.Struct]:
    """A struct with the event's own fields and types, minus the envelope."""
    hints = typing.get_type_hints(event_class)
    state_fields = [
        (f.name, hints[f.name])
        for f in fields(event_class)
        if f.name not in _ENVELOPE_FIELDS
    ]
    return msgspec.defstruct(f"{event_class.__qualname__}State", state_fields)


def _varying_accepted_type() -> type[msgspec.Struct]:
    """A struct of the fields of Message.Accepted that differ between a
    batch's messages: the recipient's own, by name, with the event's types."""
    hints = typing.get_type_hints(Message.Accepted)
    return msgspec.defstruct(
        "VaryingAcceptedFields",
        [(name, hints[name]) for name in ACCEPTED_RECIPIENT_FIELDS],
    )


_VaryingAcceptedFields = _varying_accepted_type()
# The recipient's values in the order of the struct's fields: both come from
# the same names, so a field added or moved cannot shift a value.
_varying_values = attrgetter(*ACCEPTED_RECIPIENT_FIELDS)
_varying_encoder = msgspec.json.Encoder()
_ACCEPTED_TOPIC = get_topic(Message.Accepted)


class MsgspecMapper(Mapper[Any]):
    """Maps domain events to stored events and back, with msgspec JSON."""

    def encode_accepted_batch(self, batch: AcceptedBatch) -> list[StoredEvent]:
        """The stored form of `batch.events()`, without building the events.

        The shared fields are encoded once; each message adds only its own.
        Decoding reads fields by name, so the result is the same events (held
        equal by a contract test).
        """
        if self.cipher or self.compressor:
            return [self.to_stored_event(event) for event in batch.events()]
        return [*self._encode_accepted(batch), *self._encode_settlements(batch)]

    def _encode_settlements(self, batch: AcceptedBatch) -> list[StoredEvent]:
        """The stored form of `batch.settlement_events()`, without building
        them all.

        Messages the sandbox settled the same way have the same stored
        states, but for the carrier id derived from each one's message id.
        So one message per outcome is encoded from its real events, and the
        others copy its states with their own carrier id put in.
        """
        settled_at = batch.settled_at
        if settled_at is None:
            return []
        stored: list[StoredEvent] = []
        append = stored.append
        # Per outcome: the outcome itself, the sample's carrier id, and its
        # events' versions, topics and states. Keyed by identity, which is
        # cheaper to hash: the simulator's outcomes are a few shared values,
        # and an equal one met under another identity only costs one more
        # sample. Each keeps its outcome alive, so no identity is reused.
        samples: dict[int, tuple[object, bytes, list[tuple[int, str, bytes]]]] = {}
        for recipient, outcome in batch.settlements():
            message_id = recipient.message_id
            sample = samples.get(id(outcome))
            if sample is None:
                events = Message.sandbox_settlement_events(
                    message_id, account_id=batch.terms.account_id, outcome=outcome,
                    timestamp=settled_at,
                )
                encoded = [self.to_stored_event(event) for event in events]
                stored.extend(encoded)
                samples[id(outcome)] = (
                    outcome, sandbox_carrier_id(message_id).encode(),
                    [(e.originator_version, e.topic, e.state) for e in encoded],
                )
                continue
            _, sample_carrier_id, parts = sample
            carrier_id = sandbox_carrier_id(message_id).encode()
            for version, topic, state in parts:
                append(StoredEvent(
                    message_id, version, topic, state.replace(sample_carrier_id, carrier_id)))
        return stored

    def _encode_accepted(self, batch: AcceptedBatch) -> list[StoredEvent]:
        shared = _encoder.encode({
            "timestamp": batch.timestamp,
            "originator_topic": f"{Message.__module__}:{Message.__qualname__}",
            **batch.terms.state(),
            "class_version": Message.Accepted.class_version,
        })
        prefix = shared[:-1] + b","
        encode = _varying_encoder.encode
        version = Message.INITIAL_VERSION
        varying, values = _VaryingAcceptedFields, _varying_values
        return [
            StoredEvent(
                r.message_id, version, _ACCEPTED_TOPIC,
                prefix + encode(varying(*values(r)))[1:],
            )
            for r in batch.recipients
        ]

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        state = _encoder.encode(event_state)
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        cls = resolve_topic(stored_event.topic)
        try:
            event_state = self._decode_state(cls, stored_event.state)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            msg = (
                f"Failed to decode stored event {stored_event.topic} "
                f"{stored_event.originator_id}@{stored_event.originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        event_state["originator_id"] = stored_event.originator_id
        event_state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return typing.cast(DomainEventProtocol[Any], domain_event)

    def _decode_state(self, cls: type, state: bytes) -> dict[str, Any]:
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        raw: dict[str, Any] = _decoder.decode(state)
        from_version = raw.pop("class_version", 1)
        class_version = getattr(cls, "class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(raw)
            from_version += 1
        typed = msgspec.convert(raw, _state_type(cls), strict=False)
        result = msgspec.structs.asdict(typed)
        if issubclass(cls, CanSnapshotAggregate):
            _restore_snapshot_base_fields(result["state"])
        return result


def _restore_snapshot_base_fields(aggregate_state: dict[str, Any]) -> None:
    """Snapshots hold aggregate attributes as JSON; our aggregates keep their
    own attributes JSON-native, so only the library's base timestamps need
    their type back."""
    for key in ("_created_on", "_modified_on"):
        if isinstance(aggregate_state.get(key), str):
            aggregate_state[key] = datetime.fromisoformat(aggregate_state[key])
