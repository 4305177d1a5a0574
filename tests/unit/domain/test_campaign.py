"""The campaign's state machine: the 409 table, every transition an event,
and version 1 events still readable."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.eventstore.mapper import MsgspecMapper
from domain.campaign import ALLOWED_FROM, Campaign, EmptyCampaign
from domain.errors import InvalidTransition

# Written out, not read from the code: which commands each state allows.
EXPECTED_ALLOWED = {
    "draft": {"add_recipients", "submit", "cancel"},
    "pending_approval": {"approve", "reject", "cancel"},
    "approved": {"start", "cancel", "fail"},
    "rejected": set(),
    "sending": {"send_chunk", "pause", "cancel", "complete", "fail"},
    "paused": {"resume", "cancel", "fail"},
    "completed": set(),
    "cancelled": set(),
    "failed": set(),
}


def new_campaign() -> Campaign:
    return Campaign.create_campaign(
        uuid4(), account_id="acct", name="Spring", sender="Shop", body="Hi {{name}}",
        client_ref=None, sandbox=False, scheduled_at=None, unicode=False)


def in_state(state: str) -> Campaign:
    campaign = new_campaign()
    steps: dict[str, list[Callable[[Campaign], None]]] = {
        "draft": [],
        "pending_approval": [lambda c: c.submit(5, 5)],
        "approved": [lambda c: c.submit(5, 5), lambda c: c.approve("op")],
        "rejected": [lambda c: c.submit(5, 5), lambda c: c.reject("op", "no")],
        "sending": [lambda c: c.submit(5, 5), lambda c: c.approve("op"), lambda c: c.start()],
        "paused": [lambda c: c.submit(5, 5), lambda c: c.approve("op"), lambda c: c.start(),
                   lambda c: c.pause("requested", "me")],
        "completed": [lambda c: c.submit(5, 5), lambda c: c.approve("op"), lambda c: c.start(),
                      _chunk_to_end, lambda c: c.complete()],
        "cancelled": [lambda c: c.cancel("me")],
        "failed": [lambda c: c.submit(5, 5), lambda c: c.approve("op"), lambda c: c.start(),
                   lambda c: c.fail("carrier down")],
    }
    for step in steps[state]:
        step(campaign)
    assert campaign.status == state
    return campaign


def _chunk_to_end(campaign: Campaign) -> None:
    campaign.send_chunk(to_seq=campaign.last_seq, accepted=4, rejected=1, opted_out=1,
                        total_price_micros=4 * 34_800, reservation_id="r")


COMMANDS: dict[str, Callable[[Campaign], None]] = {
    "add_recipients": lambda c: c.list_recipients(3, 0, 0),
    "submit": lambda c: c.submit(5, 5),
    "approve": lambda c: c.approve("op"),
    "reject": lambda c: c.reject("op", "misleading"),
    "start": lambda c: c.start(),
    "send_chunk": lambda c: c.send_chunk(to_seq=3, accepted=3, rejected=0, opted_out=0,
                                         total_price_micros=3, reservation_id="r"),
    "pause": lambda c: c.pause("requested", "me"),
    "resume": lambda c: c.resume("me"),
    "cancel": lambda c: c.cancel("me"),
    "complete": lambda c: (_chunk_to_end(c), c.complete()),  # type: ignore[func-returns-value]
    "fail": lambda c: c.fail("boom"),
}


def test_the_code_table_is_the_expected_one() -> None:
    for state, allowed in EXPECTED_ALLOWED.items():
        assert {a for a, states in ALLOWED_FROM.items() if state in states} == allowed, state


@pytest.mark.parametrize("state", sorted(EXPECTED_ALLOWED))
@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_the_transition_table(state: str, action: str) -> None:
    campaign = in_state(state)
    campaign.collect_events()
    if action in EXPECTED_ALLOWED[state]:
        COMMANDS[action](campaign)
        assert campaign.collect_events(), "every transition is an event"
        return
    with pytest.raises(InvalidTransition) as refused:
        COMMANDS[action](campaign)
    assert refused.value.code == "CONFLICT"
    assert refused.value.details["status"] == state
    assert state in refused.value.message
    assert not campaign.collect_events()


def test_submit_needs_recipients_and_freezes_the_list() -> None:
    campaign = new_campaign()
    with pytest.raises(EmptyCampaign):
        campaign.submit(0, 0)
    campaign.list_recipients(7, 2, 1)
    campaign.submit(7, 9)
    assert (campaign.listed, campaign.recipients, campaign.last_seq) == (7, 7, 9)


def test_pause_resume_keep_the_cursor_and_counts() -> None:
    campaign = in_state("sending")
    campaign.send_chunk(to_seq=3, accepted=2, rejected=1, opted_out=1,
                        total_price_micros=69_600, reservation_id="campaign/x/3")
    campaign.pause("insufficient_balance", "executor")
    assert (campaign.reason, campaign.cursor) == ("insufficient_balance", 3)
    campaign.resume("me")
    assert (campaign.status, campaign.reason, campaign.processed) == ("sending", None, 3)
    with pytest.raises(AssertionError):  # a chunk never moves the cursor back
        campaign.send_chunk(to_seq=2, accepted=1, rejected=0, opted_out=0,
                            total_price_micros=1, reservation_id="r")


def test_a_version_1_creation_is_read_as_a_batch_sent_at_once() -> None:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    batch = Campaign.create_batch(uuid4(), account_id="acct", sender="Shop", body="hi",
                                  client_ref="ref", sandbox=False)
    stored = mapper.to_stored_event(batch.collect_events()[0])
    state = msgspec.json.decode(stored.state)
    for added in ("scheduled_at", "unicode", "class_version"):
        state.pop(added)
    old = StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                      msgspec.json.encode(state))
    event = mapper.to_domain_event(old)
    restored = event.mutate(None)  # type: ignore[attr-defined]
    assert (restored.kind, restored.scheduled_at, restored.unicode) == ("batch", None, False)
    restored.add_recipients(2, 0, 10)
    restored.start()
    assert restored.status == "running"
