"""The rules of API keys: known permissions only, no escalation, ten at most."""

from __future__ import annotations

import pytest

from domain.api_keys import (
    MAX_ACTIVE_KEYS_PER_ACCOUNT,
    PERMISSIONS,
    PermissionNotHeld,
    TooManyKeys,
    UnknownPermission,
    check_key_count,
    checked_permissions,
)

ALL = frozenset(PERMISSIONS)


def test_permissions_come_back_in_canonical_order_without_duplicates() -> None:
    assert checked_permissions(["reports.read", "sms.send", "sms.send"], ALL) == (
        "sms.send", "reports.read")


@pytest.mark.parametrize("requested", [["sms.send", "sms.delete"], [], ["SMS.SEND"]])
def test_unknown_or_no_permissions_are_refused(requested: list[str]) -> None:
    with pytest.raises(UnknownPermission) as refused:
        checked_permissions(requested, ALL)
    assert refused.value.code == "VALIDATION_ERROR"


def test_a_credential_cannot_grant_what_it_lacks() -> None:
    with pytest.raises(PermissionNotHeld) as refused:
        checked_permissions(["sms.read", "sms.send"], frozenset({"sms.read", "settings.write"}))
    assert refused.value.code == "FORBIDDEN"
    assert refused.value.details == {"missing": ["sms.send"]}


def test_the_eleventh_key_is_refused() -> None:
    check_key_count(MAX_ACTIVE_KEYS_PER_ACCOUNT - 1)
    with pytest.raises(TooManyKeys) as refused:
        check_key_count(MAX_ACTIVE_KEYS_PER_ACCOUNT)
    assert refused.value.details == {"limit": 10, "active": 10}
