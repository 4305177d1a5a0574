"""GET /v1/billing/usage/export: the account's messages as CSV, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Stream

from adapters.bootstrap.container import Container
from adapters.http.middleware.auth import authenticate, require_permission
from adapters.http.pagination import RangeEnd, RangeStart, date_range
from application.identity.principal import Principal
from projections.usage_export import usage_csv

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


class UsageExportController(Controller):
    path = "/v1/billing/usage"
    tags = ["Billing"]
    dependencies = {"principal": Provide(authenticate, sync_to_thread=False)}

    @get("/export", operation_id="exportUsage", summary="Export usage as CSV", sync_to_thread=False,
         media_type="text/csv")
    def export(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal],
        from_date: RangeStart = None, to_date: RangeEnd = None,
    ) -> Stream:
        require_permission(principal, "billing.read")
        dates = date_range(from_date, to_date)
        container: Container = request.app.state.container
        start, end = dates.start or EARLIEST, dates.end or LATEST

        def blocks() -> Iterator[bytes]:
            # The pooled connection is held while the response streams and
            # returned when the generator ends or is closed.
            with container.pool.connection() as conn:
                yield from usage_csv(
                    conn, principal.account_id, sandbox=principal.sandbox,
                    start=start, end=end,
                )

        return Stream(
            blocks(), media_type="text/csv",
            headers={"content-disposition": 'attachment; filename="usage.csv"'},
        )
