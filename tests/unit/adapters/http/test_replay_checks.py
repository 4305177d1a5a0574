"""The guards note what a request required, and a replay is held to it."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from litestar.concurrency import sync_to_thread
from litestar.exceptions import PermissionDeniedException

from adapters.http.middleware.auth import (
    check_replay,
    recording_requirements,
    require_permission,
    require_platform_admin,
    requires_permissions,
)
from adapters.postgres.idempotency import RequiredAuthority
from application.identity.principal import Principal


def _key(*permissions: str) -> Principal:
    return Principal("acc_1", uuid.uuid4(), False, frozenset(permissions))


def _operator() -> Principal:
    return Principal("acc_1", None, False, frozenset({"sms.send"}), user_id=uuid.uuid4(),
                     role="owner", platform_admin=True)


def test_the_guards_note_what_they_required() -> None:
    with recording_requirements() as required:
        require_permission(_operator(), "sms.send")
        require_platform_admin(_operator())
        requires_permissions(["billing.read"])
    assert required() == RequiredAuthority(frozenset({"sms.send", "billing.read"}), True)


def test_a_handler_in_a_worker_thread_is_noted_too() -> None:
    """Sync handlers run in a worker thread, in a copy of the request's context."""

    async def run() -> RequiredAuthority:
        with recording_requirements() as required:
            await sync_to_thread(require_permission, _key("sms.send"), "sms.send")
            return required()

    assert asyncio.run(run()).permissions == {"sms.send"}


def test_nothing_is_noted_outside_a_recording() -> None:
    require_permission(_key("sms.send"), "sms.send")
    with recording_requirements() as required:
        pass
    assert required() == RequiredAuthority()


def test_a_replay_passes_the_same_checks_and_no_others() -> None:
    needed = RequiredAuthority(frozenset({"sms.send"}))
    check_replay(_key("sms.send"), needed)
    with pytest.raises(PermissionDeniedException, match=r"lacks the sms\.send permission"):
        check_replay(_key("billing.read"), needed)
    operator_only = RequiredAuthority(frozenset(), platform_admin=True)
    check_replay(_operator(), operator_only)
    with pytest.raises(PermissionDeniedException, match="platform operators"):
        check_replay(_key("sms.send", "settings.write"), operator_only)
