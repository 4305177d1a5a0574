"""A password-reset mail links to the API's real address: the port `up`
actually bound (here `--port 0`, with one API process and with several),
not a default written into the configuration."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from adapters.runtime import instance
from tests.e2e.test_walkthrough import Up

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=[1, 2], ids=["one-api-process", "two-api-workers"])
def up(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Up, str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSLEDGER_", "XDG_"))}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = request.getfixturevalue("database_url")
    data_dir = tmp_path / "data"
    running = Up(["--data-dir", str(data_dir), "--port", "0", "--workers", str(request.param)],
                 ROOT, env)
    try:
        base_url = running.wait_for_url()
        database_url = env.get("DATABASE_URL")
        if database_url is None:  # the embedded one, as `up` recorded it
            record = instance.read_record(data_dir / instance.RECORD_NAME)
            assert record is not None and record.database_url is not None
            database_url = record.database_url
        yield running, base_url, database_url
    finally:
        running.stop()


def test_the_reset_link_carries_the_port_bound(up: tuple[Up, str, str]) -> None:
    _, base_url, database_url = up
    email = f"reset-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        registered = http.post("/v1/auth/register", json={
            "email": email, "password": "a long passphrase", "name": "Reset"})
        assert registered.status_code in (200, 201), registered.text
        asked = http.post("/v1/auth/forgot-password", json={"email": email})
        assert asked.status_code in (200, 202), asked.text
    assert not base_url.endswith(":8000")
    body = _mail_to(database_url, email)
    assert f"{base_url}/reset-password?token=" in body, body


def _mail_to(database_url: str, email: str, timeout_s: float = 10.0) -> str:
    """The mail's body: it is sent after the answer, which must not tell
    whether the address has a user."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT body FROM outbound_mail WHERE recipient = %s",
                               (email,)).fetchone()
            if row is not None:
                return str(row[0])
            assert time.monotonic() < deadline, f"no mail to {email}"
            time.sleep(0.1)
