"""The product as a user runs it: `smsledger up` in a subprocess, the CLI to
create an account, then send, bulk, balance and ledger verify over HTTP; then
SIGTERM, and a second start that finds the same data."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.js.errors import NotFoundError

from tests.conftest import RUN_ID
from tests.support.processes import stop_gracefully

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
SMSLEDGER = [sys.executable, "-m", "adapters.cli.main"]


@pytest.fixture
def product_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Use this run's database when servers are configured; else embedded.
    On a shared NATS server the run's own stream is deleted afterwards."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = request.getfixturevalue("database_url")
    if os.environ.get("NATS_URL"):
        env["NATS_URL"] = os.environ["NATS_URL"]
        # A shared server: this run's own stream and subjects.
        env["SMSLEDGER_STREAM_NAME"] = f"SMSLEDGER_E2E_{RUN_ID}"
        env["SMSLEDGER_SUBJECT_PREFIX"] = f"smsledger_e2e_{RUN_ID}"
    env["SMSLEDGER_SIM_RECEIPT_DELAY_S"] = "0.05"
    # `up` records itself for the other commands: here, not in the user's home.
    env["XDG_STATE_HOME"] = str(request.getfixturevalue("tmp_path") / "state")
    yield env
    if os.environ.get("NATS_URL"):
        asyncio.run(_delete_stream(os.environ["NATS_URL"], env["SMSLEDGER_STREAM_NAME"]))


async def _delete_stream(nats_url: str, name: str) -> None:
    nc = await nats.connect(nats_url, name="smsledger-e2e-cleanup")
    try:
        await nc.jetstream().delete_stream(name)
    except NotFoundError:
        pass  # the test never started the product
    finally:
        await nc.close()


class Product:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*SMSLEDGER, "up", "--data-dir", str(self.data_dir), "--port", "0"],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.base_url = found.group(1)
                return
        self.stop()
        pytest.fail("smsledger up did not announce its URL")

    def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=STOP_TIMEOUT_S)
        assert self.process.returncode == 0, output
        return output

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SMSLEDGER, *args, "--data-dir", str(self.data_dir)],
            env=self.env, capture_output=True, text=True, timeout=120,
        )


@pytest.fixture
def product(tmp_path: Path, product_env: dict[str, str]) -> Iterator[Product]:
    running = Product(tmp_path / "data", product_env)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None:
            stop_gracefully(running.process)


def test_send_bulk_balance_verify_and_restart(product: Product) -> None:
    created = product.cli("accounts", "create", "--name", "Acme", "--sender-id", "Acme",
                          "--credit", "10.00",
                          "--country", "GH", "--json")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    headers = {"X-API-Key": account["api_key"], "X-API-Secret": account["api_secret"]}
    with httpx.Client(base_url=product.base_url, headers=headers, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").json()["status"] == "ready"
        sent = http.post("/v1/sms/send", json={
            "to": "0201234567", "from": "Acme", "body": "Hi {{name}}",
            "variables": {"name": "Ama"}})
        assert sent.status_code == 200, sent.text
        message = sent.json()["data"]
        assert message["to"] == "+233201234567" and message["status"] == "queued"
        bulk = http.post("/v1/sms/bulk", json={
            "from": "Acme", "body": "Code {{code}}",
            "recipients": [{"to": "+233201234567", "variables": {"code": "1"}},
                           {"to": "nonsense", "variables": {"code": "2"}},
                           {"to": "+447700900123", "variables": {}}]})
        assert bulk.status_code == 200, bulk.text
        batch = bulk.json()["data"]
        assert (batch["accepted"], batch["rejected"]) == (1, 2)
        assert [r["code"] for r in batch["rejections"]] == [
            "INVALID_PHONE_NUMBER", "MISSING_VARIABLE"]
        held = message["cost_micros"] + batch["cost_estimate_micros"]
        now = http.get("/v1/billing/balance").json()["data"]
        # Whatever the dispatcher has settled already, nothing is lost:
        assert now["available_micros"] == now["balance_micros"] - now["reserved_micros"]
        assert 10_000_000 - held <= now["available_micros"] <= 10_000_000
        settled = _poll(lambda: http.get("/v1/billing/balance").json()["data"],
                        lambda b: b["reserved_micros"] == 0)
        assert 10_000_000 - held <= settled["balance_micros"] <= 10_000_000
        too_much = http.post("/v1/sms/send", json={
            "to": "+447700900123", "from": "Acme", "body": "x" * 1531})
        assert too_much.json()["error"]["code"] == "MESSAGE_TOO_LONG"
        assert http.get("/v1/billing/balance", headers={"X-API-Secret": "wrong"}).status_code == 401
    verified = product.cli("ledger", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "ledger verified" in verified.stdout
    assert "smsledger stopped" in product.stop()

    product.start()  # the second start finds the same account and wallet
    with httpx.Client(base_url=product.base_url, headers=headers, timeout=30) as http:
        assert http.get("/v1/billing/balance").json()["data"] == settled
    product.stop()


def _poll(fetch, done, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_read_models_follow_the_api_and_survive_a_rebuild(product: Product) -> None:
    created = product.cli("accounts", "create", "--name", "Reader", "--sender-id", "Acme",
                          "--credit", "100.00",
                          "--country", "GB", "--json")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    headers = {"X-API-Key": account["api_key"], "X-API-Secret": account["api_secret"]}
    with httpx.Client(base_url=product.base_url, headers=headers, timeout=30) as http:
        sent = http.post("/v1/sms/send", json={"to": "+447700900123", "from": "Acme",
                                               "body": "hello", "client_ref": "ryw-1"})
        assert sent.status_code == 200, sent.text
        message_id = sent.json()["data"]["id"]
        # Read your writes: at once, whatever the read models' lag.
        found = http.get(f"/v1/sms/{message_id}")
        assert found.status_code == 200, found.text
        # The dispatcher may already have moved it on.
        assert found.json()["data"]["status"] in ("queued", "sent", "delivered", "failed")
        by_ref = http.get("/v1/sms/by-ref/ryw-1")
        assert [row["id"] for row in by_ref.json()["data"]] == [message_id], by_ref.text

        recipients = [{"to": f"+4477009{i:05d}"} for i in range(1000)]
        bulk = http.post("/v1/sms/bulk", json={"recipients": recipients, "from": "Acme",
                                               "body": "batch"})
        assert bulk.status_code == 200, bulk.text
        batch_id = bulk.json()["data"]["batch_id"]
        campaign = _poll(lambda: http.get(f"/v1/campaigns/{batch_id}"),
                         lambda r: r.status_code == 200
                         and r.json()["data"]["messages_total"] == 1000)
        assert campaign.json()["data"]["accepted"] == 1000
        assert sum(campaign.json()["data"]["messages"].values()) == 1000
        # Each read model follows the log at its own pace.
        _poll(lambda: http.get("/v1/sms", params={"campaign_id": batch_id}),
              lambda r: r.json()["pagination"]["total"] == 1000)
        assert _page_through(http, batch_id) == 1000

    status = product.cli("projections", "status")
    assert status.returncode == 0, status.stderr
    assert "message_log" in status.stdout
    rebuilt = product.cli("projections", "rebuild", "--all")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "message_log: read" in rebuilt.stdout
    with httpx.Client(base_url=product.base_url, headers=headers, timeout=30) as http:
        assert _page_through(http, batch_id) == 1000
        assert http.get(f"/v1/sms/{message_id}").status_code == 200
    product.stop()


def _page_through(http: httpx.Client, campaign_id: str) -> int:
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        params = {"campaign_id": campaign_id, "page_size": 137}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/v1/sms", params=params).json()
        seen += [row["id"] for row in page["data"]]
        assert page["pagination"]["total"] == 1000
        cursor = page["pagination"]["cursor"]
        if not page["pagination"]["has_more"]:
            break
    assert len(seen) == len(set(seen)), "a message appeared on two pages"
    return len(seen)


def test_a_mixed_bulk_is_delivered_failed_and_settled_to_the_micro(product: Product) -> None:
    created = product.cli("accounts", "create", "--name", "Mixed", "--sender-id", "Acme",
                          "--credit", "100.00",
                          "--country", "GB", "--json")
    account = json.loads(created.stdout)
    headers = {"X-API-Key": account["api_key"], "X-API-Secret": account["api_secret"]}
    magic = {"+15005550001": "failed", "+15005550002": "expired", "+15005550003": "rejected"}
    # +15005550004 (no receipt ever) is settled after validity plus grace:
    # covered with a controllable clock in tests/integration/delivery/test_dispatch.py.
    recipients = [{"to": number} for number in magic for _ in range(100)]
    recipients += [{"to": f"+4477009{i:05d}"} for i in range(700)]
    with httpx.Client(base_url=product.base_url, headers=headers, timeout=60) as http:
        bulk = http.post("/v1/sms/bulk", json={"recipients": recipients, "from": "Acme",
                                               "body": "mixed"})
        assert bulk.status_code == 200, bulk.text
        batch_id = bulk.json()["data"]["batch_id"]

        def settled(response: httpx.Response) -> bool:
            if response.status_code != 200:
                return False
            counts = response.json()["data"]["messages"]
            return sum(counts.values()) == 1000 and counts["queued"] + counts["sent"] == 0

        campaign = _poll(lambda: http.get(f"/v1/campaigns/{batch_id}"), settled, timeout_s=60)
        assert settled(campaign), campaign.text
        # Every message is final, so the batch completes.
        campaign = _poll(lambda: http.get(f"/v1/campaigns/{batch_id}"),
                         lambda r: r.json()["data"]["status"] == "completed", timeout_s=10)
        assert campaign.json()["data"]["status"] == "completed", campaign.text
        assert campaign.json()["data"]["completed_at"] is not None
        # The message log follows at its own pace too.
        rows = _poll(lambda: _all_messages(http, batch_id),
                     lambda found: all(r["status"] not in ("queued", "sent") for r in found))
        balance = http.get("/v1/billing/balance").json()["data"]
    assert len(rows) == 1000
    by_number: dict[str, set[str]] = {}
    for row in rows:
        by_number.setdefault(row["destination"], set()).add(row["status"])
    for number, status in magic.items():
        assert by_number[number] == {status}
    others = {s for n, statuses in by_number.items() if n not in magic for s in statuses}
    assert others <= {"delivered", "failed"} and "delivered" in others
    delivered_micros = sum(r["cost_micros"] for r in rows if r["status"] == "delivered")
    assert balance["reserved_micros"] == 0
    assert 100_000_000 - balance["balance_micros"] == delivered_micros  # captured
    assert all(r["charge"] == ("captured" if r["status"] == "delivered" else "released")
               for r in rows)
    verified = product.cli("ledger", "verify")
    assert verified.returncode == 0, verified.stderr
    product.stop()


def _all_messages(http: httpx.Client, campaign_id: str) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    for _ in range(10):
        params = {"campaign_id": campaign_id, "page_size": 500}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/v1/sms", params=params).json()
        rows += page["data"]
        cursor = page["pagination"]["cursor"]
        if not page["pagination"]["has_more"]:
            break
    return rows


def test_the_seed_example_and_the_sandbox(product: Product) -> None:
    """The seed's Python example against the product (base URL and key
    changed; its sender approved when the account is made), then the same
    key in the sandbox: delivered at once, free, and cleared by a reset."""
    created = product.cli("accounts", "create", "--name", "Seed", "--sender-id", "MyApp",
                          "--credit", "10.00", "--country", "GB", "--json")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    base = f"{product.base_url}/v1"
    headers = {"X-API-Key": account["api_key"], "X-API-Secret": account["api_secret"]}

    def send_sms(to: str, body: str, sender: str = "MyApp") -> dict:
        return httpx.post(f"{base}/sms/send", headers=headers,
                          json={"to": to, "from": sender, "body": body}).json()

    def send_bulk(recipients: list[dict], body: str, sender: str = "MyApp") -> dict:
        return httpx.post(f"{base}/sms/bulk", headers=headers,
                          json={"recipients": recipients, "from": sender, "body": body}).json()

    def get_balance() -> dict:
        return httpx.get(f"{base}/billing/balance", headers=headers).json()

    def list_messages(status: str | None = None, page_size: int = 50) -> dict:
        params: dict[str, object] = {"page_size": page_size}
        if status:
            params["status"] = status
        return httpx.get(f"{base}/reports/messages", headers=headers, params=params).json()

    first = send_sms("+447700900123", "Hello!")["data"]
    assert first["status"] == "queued"
    assert first["message_id"] == first["id"]  # the seed's Node and PHP examples read it
    assert send_bulk([{"to": "+447700900001"}], "Hi")["data"]["accepted"] == 1
    assert isinstance(get_balance()["data"]["balance"], int)
    assert isinstance(list_messages(status="delivered")["data"], list)
    # Once the live sends are settled, the live wallet should not move again.
    live_before = _poll(get_balance, lambda b: b["data"]["reserved_micros"] == 0)["data"]
    assert live_before["reserved_micros"] == 0

    sandbox = {**headers, "X-Sandbox": "true"}
    with httpx.Client(base_url=product.base_url, headers=sandbox, timeout=30) as http:
        sent = http.post("/v1/sms/send", json={"to": "+447700900123", "from": "Test",
                                               "body": "Test - not sent!"})
        assert sent.status_code == 200, sent.text
        # The seed's sandbox answer: delivered and sandbox at once.
        assert (sent.json()["data"]["status"], sent.json()["data"]["sandbox"]) == (
            "delivered", True)
        message_id = sent.json()["data"]["id"]
        started = time.monotonic()
        delivered = _poll(lambda: http.get(f"/v1/sms/{message_id}"),
                          lambda r: r.status_code == 200
                          and r.json()["data"]["status"] == "delivered", timeout_s=10)
        assert delivered.json()["data"]["status"] == "delivered", delivered.text
        assert delivered.json()["data"]["sandbox"] is True
        assert time.monotonic() - started < 5.0
        reset = http.get("/v1/sandbox/reset")  # as the seed's curl sends it
        assert reset.status_code == 200, reset.text
        assert http.get(f"/v1/sms/{message_id}").status_code == 404
        assert http.get("/v1/sms").json()["data"] == []
    # The sandbox charged nothing to the live wallet.
    assert get_balance()["data"] == live_before
    product.stop()
