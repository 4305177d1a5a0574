"""The SMTP mailer against a real SMTP server (aiosmtpd) run by the test, alone
and as the mailer of a password reset asked for through HTTP."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.identity import SmtpSettings
from adapters.config.settings import Settings
from adapters.http.app import create_app
from adapters.mail.smtp import SmtpMailer
from application.identity.ports import Mail
from tests.integration.identity.users.conftest import new_email, register


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, self.messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def test_smtp_mailer_delivers(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    mailer = SmtpMailer(SmtpSettings(
        host="127.0.0.1", port=port, username="", password="",
        sender="no-reply@smsledger.test", starttls=False, timeout_s=5.0,
    ))
    mailer.send(Mail(to="ada@example.com", subject="Hello", body="Line one\nLine two\n"))
    inbox.wait_for(1)
    mail_from, rcpt_tos, message = inbox.messages[0]
    assert mail_from == "no-reply@smsledger.test"
    assert rcpt_tos == ["ada@example.com"]
    assert message["Subject"] == "Hello"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode().splitlines() == ["Line one", "Line two"]  # CRLF on the wire


def test_reset_mail_goes_out_over_smtp_when_configured(
    database_url: str, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    settings = Settings.from_env({
        "SMSLEDGER_SMTP_HOST": "127.0.0.1", "SMSLEDGER_SMTP_PORT": str(port),
        "SMSLEDGER_SMTP_FROM": "no-reply@smsledger.test", "SMSLEDGER_SMTP_STARTTLS": "false",
        "SMSLEDGER_ARGON2_TIME_COST": "1", "SMSLEDGER_ARGON2_MEMORY_KIB": "8192",
    })
    container: Container = build(settings, database_url)
    try:
        with TestClient(create_app(container)) as client:
            address = new_email()
            register(client, address)
            asked = client.post("/v1/auth/forgot-password", json={"email": address})
            assert asked.status_code == 200
            inbox.wait_for(1)
    finally:
        container.close()
    _, rcpt_tos, message = inbox.messages[0]
    assert rcpt_tos == [address]
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "token=" in payload.decode()
    # The SMTP mailer replaces the outbox: nothing was kept in the table.
    with container_pool(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbound_mail WHERE recipient = %s", (address,)
        ).fetchone()
    assert row is not None and row[0] == 0


def container_pool(database_url: str) -> Any:
    import psycopg

    return psycopg.connect(database_url, autocommit=True)
