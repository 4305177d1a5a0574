"""Forgotten, reset and changed passwords through HTTP; the reset link comes
from the mail the default mailer kept in `outbound_mail`."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.integration.identity.users.conftest import PASSWORD, bearer, new_email, register

NEW_PASSWORD = "a brand new passphrase"


def mails_to(container: Container, email: str) -> list[tuple[str, str]]:
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT subject, body FROM outbound_mail WHERE recipient = %s ORDER BY id",
            (email,),
        ).fetchall()
    return [(str(subject), str(body)) for subject, body in rows]


def reset_token(body: str) -> str:
    match = re.search(r"token=([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_reset_via_mail(client: TestClient[Any], container: Container) -> None:
    email = new_email()
    old_session = register(client, email)
    asked = client.post("/v1/auth/forgot-password", json={"email": email})
    assert asked.status_code == 200, asked.text
    mails = mails_to(container, email)
    assert len(mails) == 1
    subject, body = mails[0]
    assert "Reset" in subject
    token = reset_token(body)

    done = client.post("/v1/auth/reset-password",
                       json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    # A reset ends every session: the old refresh and access tokens are dead.
    assert client.post("/v1/auth/refresh", json={"refresh_token": old_session["refresh_token"]}
                       ).status_code == 401
    assert client.get("/v1/auth/me", headers=bearer(old_session)).status_code == 401
    assert client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}
                       ).status_code == 401
    assert client.post("/v1/auth/login", json={"email": email, "password": NEW_PASSWORD}
                       ).status_code == 200
    # A token works once.
    again = client.post("/v1/auth/reset-password",
                        json={"token": token, "password": "yet another one"})
    assert again.status_code == 401


def test_forgot_password_does_not_tell_whether_the_email_exists(
    client: TestClient[Any], container: Container
) -> None:
    known = new_email()
    register(client, known)
    unknown = new_email()
    answers = [client.post("/v1/auth/forgot-password", json={"email": email})
               for email in (known, unknown)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["data"] == answers[1].json()["data"]
    assert len(mails_to(container, known)) == 1
    assert mails_to(container, unknown) == []


def test_reset_refuses_bad_tokens_and_short_passwords(client: TestClient[Any]) -> None:
    bad = client.post("/v1/auth/reset-password",
                      json={"token": "not-a-token", "password": NEW_PASSWORD})
    assert bad.status_code == 401
    short = client.post("/v1/auth/reset-password", json={"token": "x", "password": "short"})
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "VALIDATION_ERROR"


def test_change_password_keeps_this_session_and_ends_the_others(
    client: TestClient[Any],
) -> None:
    email = new_email()
    register(client, email)
    this = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}
                       ).json()["data"]
    other = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}
                        ).json()["data"]
    wrong = client.post("/v1/auth/change-password", headers=bearer(this), json={
        "current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 401
    changed = client.post("/v1/auth/change-password", headers=bearer(this), json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert client.get("/v1/auth/me", headers=bearer(this)).status_code == 200
    assert client.get("/v1/auth/me", headers=bearer(other)).status_code == 401
    assert client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
                       ).status_code == 401
    assert client.post("/v1/auth/login", json={"email": email, "password": NEW_PASSWORD}
                       ).status_code == 200


def test_change_password_needs_a_user(client: TestClient[Any], container: Container) -> None:
    tokens = register(client)
    key = container.accounts.issue_key(tokens["user"]["account_id"], sandbox=False)
    headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    response = client.post("/v1/auth/change-password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert client.post("/v1/auth/change-password", json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 401
