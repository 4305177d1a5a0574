"""GET /v1/billing/usage/export: one CSV line per message, streamed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.projector.rebuild import rebuild
from projections.message_log import MessageLog
from projections.usage_export import COLUMNS
from tests.integration.billing.mixed import NUMBERS, mixed_month
from tests.integration.billing.support import open_account
from tests.support.api_process import ApiProcess
from tests.support.message_log_fill import fill_message_log
from tests.support.stripe_standin import StripeStandIn

STREAMED_ROWS = 150_000
# The whole CSV is about 180 bytes a row (27 MB here); a server that held it
# would grow by that much. Streaming in blocks keeps the growth to this.
MAX_RSS_GROWTH_KIB = 8 * 1024


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_lists_each_message_with_its_cost(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    mixed = mixed_month(billing_container, client, stripe_api)
    app = billing_container.app
    rebuild(MessageLog(), billing_container.pool, app.recorder, app.mapper)
    response = client.get("/v1/billing/usage/export", headers=mixed.account.live)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == ",".join(COLUMNS)
    rows = _rows(response.text)
    assert sorted(r["destination"] for r in rows) == sorted(NUMBERS)
    by_status = {r["destination"]: r for r in rows}
    delivered = by_status["+447700900123"]
    assert delivered["status"] == "delivered" and delivered["charge"] == "captured"
    assert int(delivered["cost_micros"]) == int(delivered["price_micros"]) > 0
    assert float(delivered["cost"]) * 1_000_000 == int(delivered["cost_micros"])
    assert by_status["+33612345678"]["cost_micros"] == "0"  # rejected, released
    captured = sum(int(r["cost_micros"]) for r in rows)
    settled = billing_container.wallets.balance(mixed.account.wallet_id)
    assert captured == 3_000_000 + 50_000_000 - 12_000_000 - 250_000 - settled.balance_micros
    # Dates bound the range; the sandbox key sees the sandbox's messages only.
    assert _rows(client.get("/v1/billing/usage/export?to_date=2000-01-01",
                            headers=mixed.account.live).text) == []
    assert _rows(client.get("/v1/billing/usage/export",
                            headers=mixed.account.sandbox).text) == []
    assert client.get("/v1/billing/usage/export?from_date=nope",
                      headers=mixed.account.live).status_code == 400


def test_a_large_export_streams_in_flat_memory(
    billing_container: Container, database_url: str, tmp_path: Path
) -> None:
    account = open_account(billing_container)
    captured = fill_message_log(database_url, account.account_id, STREAMED_ROWS,
                                datetime(2026, 1, 1, tzinfo=UTC))
    with ApiProcess(database_url, tmp_path / "api.log") as api:
        before_kib = api.status_kib("VmHWM")
        lines = cost = received = 0
        with httpx.stream("GET", f"{api.base_url}/v1/billing/usage/export",
                          headers=account.live, timeout=300) as response:
            assert response.status_code == 200
            tail = b""
            for block in response.iter_bytes():
                received += len(block)
                data = tail + block
                complete, _, tail = data.rpartition(b"\n")
                for line in complete.split(b"\n"):
                    lines += 1
                    if lines > 1:
                        cost += int(line.split(b",")[7])
        growth_kib = api.status_kib("VmHWM") - before_kib
    assert lines == STREAMED_ROWS + 1 and cost == captured
    assert received > 2 * MAX_RSS_GROWTH_KIB * 1024
    print(f"streamed {received} bytes; peak RSS grew {growth_kib} KiB")
    assert growth_kib < MAX_RSS_GROWTH_KIB, f"peak RSS grew {growth_kib} KiB"
