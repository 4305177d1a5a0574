"""How a failed write to the event store is told to the caller: certainly
not saved, or perhaps saved (the connection was lost after the statement
went out), and the 503 each becomes, with Retry-After."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from litestar import Litestar, get
from litestar.testing import TestClient
from psycopg import errors
from psycopg_pool import PoolTimeout

from adapters.eventstore.recorder import _outcome_known
from adapters.http.errors import EXCEPTION_HANDLERS
from application.errors import OutcomeUnknown
from application.ledger.group_commit import CommitFailed


def _wrapped(cause: Exception) -> OperationalError:
    """As the library's datastore raises a psycopg error."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


def _raise_in_save(error: Exception) -> None:
    with _outcome_known():
        raise error


@pytest.mark.parametrize("cause", [
    PoolTimeout("couldn't get a connection after 0.25 sec"),
    errors.AdminShutdown("terminating connection due to administrator command"),
    errors.LockNotAvailable("canceling statement due to lock timeout"),
], ids=["no connection", "the server shut the session", "the server refused the lock"])
def test_a_write_that_certainly_failed_raises_as_it_did(cause: Exception) -> None:
    error = _wrapped(cause)
    with pytest.raises(OperationalError) as raised:
        _raise_in_save(error)
    assert raised.value is error


def test_a_connection_lost_after_the_statement_went_out_is_an_unknown_outcome() -> None:
    lost = _wrapped(psycopg.OperationalError("server closed the connection unexpectedly"))
    with pytest.raises(OutcomeUnknown) as raised:
        _raise_in_save(lost)
    assert raised.value.details == {"outcome": "unknown"}
    assert raised.value.code == "SERVICE_UNAVAILABLE"
    assert "may or may not" in raised.value.message
    assert raised.value.__cause__ is lost


@pytest.mark.parametrize(("failure", "outcome"), [
    (OutcomeUnknown("perhaps saved", outcome="unknown"), "unknown"),
    (CommitFailed("not saved", outcome="not_saved"), "not_saved"),
    (PoolTimeout("couldn't get a connection after 0.25 sec"), None),
    (_wrapped(errors.AdminShutdown("terminating connection")), None),
    (psycopg.InterfaceError("the connection is closed"), None),
])
def test_each_is_503_with_retry_after(failure: Exception, outcome: str | None) -> None:
    @get("/fails", sync_to_thread=False)
    def fails() -> None:
        raise failure

    app = Litestar([fails], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app) as client:
        response = client.get("/fails")
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["error"]["details"].get("outcome") == outcome
    if outcome is None:  # the driver's own text stays in the log
        assert body["error"]["message"].startswith("The database is unavailable"), body
