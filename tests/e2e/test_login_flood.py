"""Sign-in under abuse against the real `smsledger api` in a subprocess."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.benchmarks.api_process import ApiProcess

pytestmark = pytest.mark.e2e

CLIENT_TIMEOUT_S = 60.0


def test_a_clients_own_forwarded_for_is_not_believed(database_url: str, tmp_path: Path) -> None:
    """Without trusted proxies the server counts by the socket's peer, even
    from 127.0.0.1 (which uvicorn's own proxy handling would believe)."""
    limit = 5
    env = {"SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": str(limit),
           "SMSLEDGER_ARGON2_TIME_COST": "1", "SMSLEDGER_ARGON2_MEMORY_KIB": "8192"}
    with ApiProcess(database_url, tmp_path / "api.log", env=env) as process, \
            httpx.Client(base_url=process.base_url, timeout=CLIENT_TIMEOUT_S) as client:
        codes = [
            client.post("/v1/auth/login",
                        json={"email": f"nobody-{n}@example.com", "password": "guess-guess"},
                        headers={"X-Forwarded-For": f"192.0.2.{n}"}).json()["error"]["code"]
            for n in range(limit + 1)
        ]
    assert codes == ["UNAUTHORIZED"] * limit + ["RATE_LIMITED"]
