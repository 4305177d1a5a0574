"""The fast stored-event -> envelope path against the general one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from eventsourcing.persistence import Mapper, Notification

from adapters.bootstrap.container import Container
from adapters.eventstore.envelopes import envelopes_of
from adapters.jetstream.batches import encode_envelope
from application.sending.send import SendMessage
from domain.published import Envelope, publish
from domain.wallet import TopUpSource
from tests.integration.projections.test_live_projections import _mixed_workload


def _general(mapper: Mapper, notifications: list[Notification]) -> list[Envelope]:  # type: ignore[type-arg]
    return [
        envelope for envelope in (
            publish(mapper.to_domain_event(n), n.id) for n in notifications
        ) if envelope is not None
    ]


def test_the_fast_path_publishes_what_the_domain_events_publish(container: Container) -> None:
    _mixed_workload(container)
    account = container.accounts.create_account("Later Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(account.account_id, "GBP")
    container.wallets.top_up(live, 1_000_000, TopUpSource.BONUS, "later")
    container.messaging.send(SendMessage(
        account.account_id, "+447700900999", "Acme", "later",
        scheduled_at=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)))
    recorder, mapper = container.app.recorder, container.app.mapper
    notifications = recorder.select_notifications(1, 100_000)
    fast = envelopes_of(mapper, notifications)
    general = _general(mapper, notifications)
    assert [encode_envelope(e) for e in fast] == [encode_envelope(e) for e in general]
    assert fast == general
    # The workload covers the types with datetimes, transforms and upcasts.
    # Other tests share the database and may add more; these are its own.
    assert {
        "campaign.created", "campaign.recipients_added", "campaign.started",
        "message.accepted", "message.cancelled", "message.carrier_rejected",
        "message.delivery_reported", "message.expired", "message.submitted_to_carrier",
        "wallet.adjusted", "wallet.funds_reserved", "wallet.opened",
        "wallet.reservations_settled", "wallet.topped_up",
    } <= {e.type for e in fast}
    assert any(e.data.get("scheduled_at") for e in fast)


def test_an_event_stored_before_an_upcast_is_published_upcast(container: Container) -> None:
    _mixed_workload(container)
    recorder, mapper = container.app.recorder, container.app.mapper
    accepted = next(
        n for n in recorder.select_notifications(1, 100_000) if n.topic.endswith("Accepted")
    )
    state = msgspec.json.decode(accepted.state)
    state.pop("class_version", None)
    state.pop("scheduled_at")  # as Message.Accepted v1 stored it
    old = Notification(
        id=accepted.id, originator_id=accepted.originator_id,
        originator_version=accepted.originator_version, topic=accepted.topic,
        state=msgspec.json.encode(state),
    )
    fast = envelopes_of(mapper, [old])
    assert fast == _general(mapper, [old])
    assert fast[0].data["scheduled_at"] is None
