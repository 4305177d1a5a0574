"""A retry sent the moment the answer has been read replays that answer from
the real `smsledger api` process: the key must be kept before the answer's
first byte leaves the server, never after."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from domain.wallet import TopUpSource
from tests.support.api_process import ApiProcess
from tests.support.senders import approve_sender

pytestmark = pytest.mark.e2e

SEND = {"to": "+447700900123", "from": "Acme", "body": "hi"}
RETRIES = 60
FUNDS_MICROS = 10_000_000  # about 280 sends to the UK


@pytest.fixture
def owner(database_url: str) -> Iterator[dict[str, str]]:
    container: Container = build(Settings.from_env({}), database_url)
    try:
        profile = container.accounts.create_account("Retry Ltd", "GBP", "GB")
        live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
        container.wallets.top_up(live, FUNDS_MICROS, TopUpSource.ADJUSTMENT, "retries")
        approve_sender(container, profile.account_id)
        key = container.accounts.issue_key(profile.account_id, sandbox=False)
        yield {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    finally:
        container.close()


def test_a_retry_right_after_the_answer_replays_it(
    database_url: str, owner: dict[str, str], tmp_path: Path
) -> None:
    outcomes: Counter[str] = Counter()
    with ApiProcess(database_url, tmp_path / "api.log") as api, \
            httpx.Client(base_url=api.base_url, timeout=30.0) as http:
        for _ in range(RETRIES):
            headers = {**owner, "Idempotency-Key": f"now-{uuid4()}"}
            first = http.post("/v1/sms/send", headers=headers, json=SEND)
            assert first.status_code == 200, first.text
            again = http.post("/v1/sms/send", headers=headers, json=SEND)
            replayed = again.headers.get("idempotent-replayed") == "true"
            outcomes[f"{again.status_code}{' replayed' if replayed else ''}"] += 1
            if again.status_code == 200:
                assert again.json()["data"] == first.json()["data"]
    assert outcomes == Counter({"200 replayed": RETRIES})
