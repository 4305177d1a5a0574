from dataclasses import fields
from uuid import uuid4

import pytest

from domain.errors import InvalidTransition
from domain.message import (
    ACCEPTANCE_FIELDS,
    ACCEPTED_RECIPIENT_FIELDS,
    Acceptance,
    Message,
)
from domain.messaging.accepted_batch import AcceptedBatch
from domain.messaging.recipient import Recipient
from domain.messaging.status import Charge, MessageStatus


def accepted(price_micros: int = 35_000) -> Message:
    recipient = Recipient(uuid4(), "+447700900123", "GB", "hello", "GSM-7", 1, price_micros)
    message = Message.accept(recipient, Acceptance(
        account_id="a", wallet_id=uuid4(), campaign_id=None,
        reservation_id="r", sender="Acme", currency="GBP", client_ref="ref", sandbox=False,
    ))
    return message


def test_accepting_builds_the_event_the_librarys_constructor_would() -> None:
    recipient = Recipient(uuid4(), "+447700900123", "GB", "hello", "GSM-7", 1, 35_000)
    terms = Acceptance(account_id="a", wallet_id=uuid4(), campaign_id=uuid4(), reservation_id="r",
                       sender="Acme", currency="GBP", client_ref=None, sandbox=False,
                       validity_minutes=60, callback_url="https://hooks.example.com/sms")
    timestamp = Message.Event.create_timestamp()
    ours = Message.accept(recipient, terms, timestamp).collect_events()[0]
    library = Message._create(
        Message.Accepted, id=recipient.message_id, timestamp=timestamp, **terms.state(),
        **{name: getattr(recipient, name) for name in ACCEPTED_RECIPIENT_FIELDS},
    ).collect_events()[0]
    assert type(ours) is type(library)
    assert vars(ours) == vars(library)
    assert vars(ours.mutate(None)) == vars(library.mutate(None))


def test_a_single_message_is_accepted_as_a_batch_of_one() -> None:
    recipient = Recipient(uuid4(), "+447700900123", "GB", "hello", "GSM-7", 1, 35_000)
    terms = Acceptance(account_id="a", wallet_id=uuid4(), campaign_id=None, reservation_id="r",
                       sender="Acme", currency="GBP", client_ref="ref", sandbox=False)
    timestamp = Message.Event.create_timestamp()
    one = Message.accept(recipient, terms, timestamp).collect_events()
    batch = AcceptedBatch(terms, timestamp, [recipient]).events()
    assert [vars(e) for e in one] == [vars(e) for e in batch]


def test_the_accepted_event_is_the_terms_and_the_recipient_by_name() -> None:
    """Every field of the event comes from exactly one of the two, so a
    field added to the event must be added to the terms or the recipient."""
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    event_fields = {f.name for f in fields(Message.Accepted)} - envelope
    assert not set(ACCEPTANCE_FIELDS) & set(ACCEPTED_RECIPIENT_FIELDS)
    assert {*ACCEPTANCE_FIELDS, *ACCEPTED_RECIPIENT_FIELDS} == event_fields


def test_delivery_captures_once_and_late_reports_are_no_ops() -> None:
    message = accepted()
    assert message.submit("sim", "c-1", capture_on_submit=False) is None
    assert message.report_delivery("ENROUTE", MessageStatus.SENT) is None
    assert message.report_delivery("ENROUTE", MessageStatus.SENT) is None  # duplicate
    item = message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    assert item is not None and (item.captured_micros, item.released_micros) == (35_000, 0)
    version = message.version
    assert message.report_delivery("DELIVRD", MessageStatus.DELIVERED) is None
    assert message.report_delivery("UNDELIV", MessageStatus.FAILED) is None
    assert message.report_delivery("ACCEPTD", MessageStatus.SENT) is None
    assert message.version == version
    assert message.status == MessageStatus.DELIVERED
    assert message.carrier_status == "DELIVRD"
    assert message.charge == Charge.CAPTURED


def test_failure_releases() -> None:
    message = accepted()
    message.submit("sim", "c-1", capture_on_submit=False)
    item = message.report_delivery("UNDELIV", MessageStatus.FAILED, "001")
    assert item is not None and item.released_micros == 35_000
    assert message.status == MessageStatus.FAILED


def test_capture_on_submit_then_dlr_does_not_settle_again() -> None:
    message = accepted()
    item = message.submit("sim", "c-1", capture_on_submit=True)
    assert item is not None and item.captured_micros == 35_000
    assert message.report_delivery("UNDELIV", MessageStatus.FAILED) is None
    assert message.status == MessageStatus.FAILED


def test_reject_cancel_expire() -> None:
    rejected = accepted()
    item = rejected.reject("88", "throttled")
    assert item is not None and item.released_micros == 35_000
    cancelled = accepted()
    assert cancelled.cancel() is not None
    assert cancelled.cancel() is None
    expired = accepted()
    assert expired.expire() is not None
    assert expired.status == MessageStatus.EXPIRED
    sent = accepted()
    sent.submit("sim", "x", capture_on_submit=False)
    with pytest.raises(InvalidTransition):
        sent.cancel()
    item = sent.expire(capture_held=True)
    assert item is not None and item.captured_micros == 35_000


def test_free_message_settles_nothing() -> None:
    message = accepted(price_micros=0)
    assert message.charge == Charge.NONE
    message.submit("sim", "x", capture_on_submit=False)
    assert message.report_delivery("DELIVRD", MessageStatus.DELIVERED) is None
    assert message.status == MessageStatus.DELIVERED


def test_scheduled_message_starts_scheduled_and_can_be_cancelled() -> None:
    from datetime import UTC, datetime, timedelta

    recipient = Recipient(uuid4(), "+447700900123", "GB", "later", "GSM-7", 1, 35_000)
    message = Message.accept(recipient, Acceptance(
        account_id="a", wallet_id=uuid4(), campaign_id=None, reservation_id="r",
        sender="Acme", currency="GBP", client_ref=None, sandbox=False,
        scheduled_at=datetime.now(UTC) + timedelta(hours=1),
    ))
    assert message.status == MessageStatus.SCHEDULED
    item = message.cancel()
    assert item is not None and item.released_micros == 35_000


def test_carrier_expiry_and_rejection_after_submit_release() -> None:
    for status in (MessageStatus.EXPIRED, MessageStatus.REJECTED):
        message = accepted()
        message.submit("sim", "c", capture_on_submit=False)
        item = message.report_delivery("EXPIRED" if status == MessageStatus.EXPIRED
                                       else "REJECTD", status)
        assert item is not None and item.released_micros == 35_000
        assert message.status == status


def test_version_1_accepted_events_are_upcast_with_no_schedule() -> None:
    from adapters.eventstore.mapper import MsgspecMapper

    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    stored = mapper.to_stored_event(accepted().collect_events()[0])
    assert b'"class_version":3' in stored.state
    version_1 = stored.state.replace(b',"scheduled_at":null', b"").replace(
        b',"callback_url":null', b"").replace(b',"class_version":3', b"")
    assert b"scheduled_at" not in version_1 and b"callback_url" not in version_1
    event = mapper.to_domain_event(type(stored)(
        stored.originator_id, stored.originator_version, stored.topic, version_1))
    assert event.scheduled_at is None  # type: ignore[attr-defined]
    assert event.callback_url is None  # type: ignore[attr-defined]
    assert event.mutate(None).status == MessageStatus.QUEUED  # type: ignore[attr-defined]


def test_version_2_accepted_events_are_upcast_with_no_callback_url() -> None:
    from adapters.eventstore.mapper import MsgspecMapper

    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    stored = mapper.to_stored_event(accepted().collect_events()[0])
    version_2 = stored.state.replace(b',"callback_url":null', b"").replace(
        b'"class_version":3', b'"class_version":2')
    event = mapper.to_domain_event(type(stored)(
        stored.originator_id, stored.originator_version, stored.topic, version_2))
    assert event.callback_url is None  # type: ignore[attr-defined]
    assert event.mutate(None).callback_url is None  # type: ignore[attr-defined]


def test_the_callback_url_is_kept_on_the_message() -> None:
    recipient = Recipient(uuid4(), "+447700900123", "GB", "hello", "GSM-7", 1, 10)
    message = Message.accept(recipient, Acceptance(
        account_id="a", wallet_id=uuid4(), campaign_id=None,
        reservation_id="r", sender="Acme", currency="GBP", client_ref=None, sandbox=False,
        callback_url="https://hooks.example.com/sms",
    ))
    assert message.callback_url == "https://hooks.example.com/sms"
    event = message.collect_events()[0]
    assert event.callback_url == "https://hooks.example.com/sms"  # type: ignore[attr-defined]
