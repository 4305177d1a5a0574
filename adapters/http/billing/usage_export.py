"""GET /v1/billing/usage/export: the account's messages as CSV, streamed."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import Stream

from adapters.http.injected import Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import RangeEnd, RangeStart, date_range
from adapters.postgres.read_models import ReadModels
from application.identity.principal import Principal
from projections.usage_export import usage_csv

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


class UsageExportController(Controller):
    path = "/v1/billing/usage"
    tags = ["Billing"]

    @get("/export", operation_id="exportUsage", summary="Export usage as CSV", sync_to_thread=False,
         media_type="text/csv")
    def export(
        self, principal: NamedDependency[Principal], read_models: Service[ReadModels],
        from_date: RangeStart = None, to_date: RangeEnd = None,
    ) -> Stream:
        require_permission(principal, "billing.read")
        dates = date_range(from_date, to_date)
        blocks = read_models.stream(
            usage_csv, principal.account_id, sandbox=principal.sandbox,
            start=dates.start or EARLIEST, end=dates.end or LATEST,
        )
        return Stream(
            blocks, media_type="text/csv",
            headers={"content-disposition": 'attachment; filename="usage.csv"'},
        )
