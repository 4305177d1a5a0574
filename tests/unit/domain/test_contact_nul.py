"""No contact field may carry a NUL character: PostgreSQL text cannot hold one."""

from __future__ import annotations

import pytest

from domain.contact import contact_fields
from domain.errors import DomainError


@pytest.mark.parametrize("field", ["first_name", "last_name", "reference", "email"])
def test_a_nul_in_a_text_field_is_refused_by_name(field: str) -> None:
    with pytest.raises(DomainError) as refused:
        contact_fields(phone="+447700900123", default_country="GB", **{field: "a\x00b"})
    assert refused.value.details.get("field") == field


def test_a_nul_in_a_custom_field_is_refused() -> None:
    with pytest.raises(DomainError):
        contact_fields(phone="+447700900123", default_country="GB",
                       custom_fields={"note": "x\x00y"})
