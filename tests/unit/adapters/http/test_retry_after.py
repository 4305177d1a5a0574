"""Errors that say when to come back carry Retry-After on the sign-in routes."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from litestar import Litestar, get
from litestar.params import PathParameter
from litestar.testing import TestClient

from adapters.http.middleware.address_limits import TooManyAttempts, error_with_retry_after
from application.identity.errors import AccountLocked, PasswordCheckBusy
from domain.errors import DomainError


class ComeBackLater(DomainError):
    code = "SERVICE_UNAVAILABLE"
    retry_after_s = 3


ERRORS: dict[str, DomainError] = {
    "limited": TooManyAttempts("slow down", retry_after=7),
    "locked": AccountLocked("locked", locked_until="2030-01-01T00:00:00+00:00",
                            retry_after_s=60),
    "busy": PasswordCheckBusy("busy", retry_after_s=1),
    "later": ComeBackLater("later"),
    "plain": DomainError("nothing to wait for"),
}


@get("/{name:str}", sync_to_thread=False)
def fail(name: Annotated[str, PathParameter()]) -> None:
    raise ERRORS[name]


@pytest.fixture(scope="module")
def client() -> Any:
    app = Litestar([fail], exception_handlers={DomainError: error_with_retry_after})
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("name", "status", "retry_after"),
    [("limited", 429, "7"), ("locked", 429, "60"), ("busy", 503, "1"), ("later", 503, "3"),
     ("plain", 400, None)],
)
def test_retry_after(client: Any, name: str, status: int, retry_after: str | None) -> None:
    response = client.get(f"/{name}")
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    assert response.json()["error"]["code"] == ERRORS[name].code
