"""Form-encoded sends become the equivalent JSON document."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from litestar.exceptions import ValidationException

from adapters.http.form_bodies import MAX_FORM_FIELDS, form_to_json


def test_fields_are_typed_and_grouped() -> None:
    raw = urlencode([("to", "+50768819519"), ("from", "50672004393"), ("body", "Just a test"),
                     ("variables[name]", "Ann"), ("unicode", "1"), ("validity_minutes", "90"),
                     ("template_id", "x")]).encode()
    assert form_to_json(raw) == {
        "to": "+50768819519", "from": "50672004393", "body": "Just a test",
        "variables": {"name": "Ann"}, "unicode": True, "validity_minutes": 90,
        "template_id": "x",
    }


def test_several_numbers_become_an_array() -> None:
    assert form_to_json(b"to=%2B1&to=%2B2")["to"] == ["+1", "+2"]
    assert form_to_json(b"to[]=%2B1")["to"] == ["+1"]


@pytest.mark.parametrize("raw", [
    b"body=a&body=b", b"unicode=perhaps", b"validity_minutes=ten",
    "&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS + 1)).encode(), b"body=%ff",
])
def test_unreadable_forms_are_validation_errors(raw: bytes) -> None:
    with pytest.raises(ValidationException):
        form_to_json(raw)
