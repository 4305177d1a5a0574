"""The message log's new rows put every value under its own column's name."""

from __future__ import annotations

import json
from uuid import uuid4

from projections.message_log import COLUMNS, _accepted_row, _accepted_values, _values
from tests.support.projections import BASE_TIME, accept, new_account, record


def test_a_new_row_holds_each_value_in_its_own_column() -> None:
    """Values chosen distinct, so that one shifted into a neighbouring
    column (a column added or moved without its value) fails here."""
    account, campaign_id = new_account(), uuid4()
    message = accept(account, destination="+233201234567", country="GH", price_micros=70_001,
                     segments=3, campaign_id=campaign_id, client_ref="the-ref")
    (envelope,) = record(message)
    names = [name for name, _ in COLUMNS]
    written = dict(zip(names, _accepted_values(envelope), strict=True))
    events = json.loads(written.pop("events"))
    assert written == {
        "message_id": message.id, "account_id": account, "campaign_id": campaign_id,
        "client_ref": "the-ref", "destination": "+233201234567", "country": "GH",
        "sender": "Acme", "encoding": "GSM7", "segments": 3, "price_micros": 70_001,
        "currency": "GBP", "sandbox": False, "status": "queued", "carrier": "",
        "carrier_message_id": "", "carrier_status": "", "error_code": "", "error_reason": "",
        "charge": "held", "accepted_at": BASE_TIME, "submitted_at": None,
        "delivered_at": None, "final_at": None, "updated_at": BASE_TIME,
        "last_event_id": envelope.id,
    }
    assert [(e["type"], e["status"]) for e in events] == [("message.accepted", "queued")]
    # A row kept as a dict (it moves in the same batch) is written the same.
    row = _accepted_row(envelope)
    assert set(row) == set(names)
    assert _values(row) == _accepted_values(envelope)
