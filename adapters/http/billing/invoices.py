"""GET /v1/billing/invoices, /{id} and /{id}/pdf: the account's monthly
statements, closed or drafts of the month to date. Another account's
invoice is 404."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from adapters.documents.invoice_pdf import render_invoice
from adapters.http.billing.schemas import InvoiceLineOut, InvoiceOut, InvoiceUsageOut
from adapters.http.bodies import Envelope, Page, Pagination
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import DEFAULT_PAGE_SIZE, PageCursor, PageSize
from adapters.postgres.identity.accounts import PostgresAccounts
from application.billing.invoices import Invoice, InvoiceService, month_bounds
from application.errors import NotFound, ValidationFailed
from application.identity.principal import Principal
from domain.money import micros_to_minor_units, micros_to_minor_units_ceiling

READ_PERMISSION = "billing.read"


class InvoicesController(Controller):
    path = "/v1/billing/invoices"
    tags = ["Billing"]

    @get("/", operation_id="listInvoices", summary="List invoices", sync_to_thread=True)
    def list_invoices(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        invoices: Service[InvoiceService],
        page_size: PageSize = DEFAULT_PAGE_SIZE, cursor: PageCursor = None,
    ) -> Page[InvoiceOut]:
        require_permission(principal, READ_PERMISSION)
        if cursor is not None:
            try:
                month_bounds(cursor)
            except ValidationFailed:
                raise ValidationFailed("invalid cursor") from None
        found, has_more, total = invoices.page(
            principal.account_id, page_size=page_size, before_month=cursor
        )
        shown = [] if principal.sandbox else list(found)  # sandbox money is not billed
        return Page(
            data=[invoice_out(i, lines=False) for i in shown],
            pagination=Pagination(
                total=0 if principal.sandbox else total, page_size=page_size,
                has_more=has_more and not principal.sandbox,
                cursor=shown[-1].month if has_more and shown else None,
            ),
            meta=meta,
        )

    @get("/{invoice_id:uuid}", operation_id="getInvoice",
         summary="Get an invoice", sync_to_thread=True)
    def get_invoice(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        invoice_id: FromPath[UUID], invoices: Service[InvoiceService],
    ) -> Envelope[InvoiceOut]:
        invoice = _owned(invoices, principal, invoice_id)
        return Envelope(data=invoice_out(invoice, lines=True),
                               meta=meta)

    @get("/{invoice_id:uuid}/pdf", operation_id="getInvoicePdf",
         summary="Download an invoice as PDF", sync_to_thread=True,
         media_type="application/pdf")
    def get_invoice_pdf(
        self, principal: NamedDependency[Principal],
        invoice_id: FromPath[UUID],
        accounts: Service[PostgresAccounts], invoices: Service[InvoiceService],
    ) -> Response[bytes]:
        invoice = _owned(invoices, principal, invoice_id)
        name = accounts.profile(principal.account_id).name
        return Response(
            render_invoice(invoice, name), media_type="application/pdf",
            headers={"content-disposition":
                     f'attachment; filename="invoice-{invoice.month}.pdf"'},
        )


def _owned(invoices: InvoiceService, principal: Principal, invoice_id: UUID) -> Invoice:
    require_permission(principal, READ_PERMISSION)
    if principal.sandbox:
        raise NotFound("No such invoice", id=str(invoice_id))
    return invoices.get(principal.account_id, invoice_id)


def invoice_out(invoice: Invoice, *, lines: bool) -> InvoiceOut:
    c = invoice.currency

    def minor(amount_micros: int) -> int:
        return micros_to_minor_units(amount_micros, c)

    return InvoiceOut(
        id=str(invoice.id), month=invoice.month,
        status="draft" if invoice.draft else "closed", currency=c,
        period_start=invoice.period_start, period_end=invoice.period_end,
        opening_balance=minor(invoice.opening_micros), purchases=minor(invoice.purchases_micros),
        refunds=minor(invoice.refunds_micros), adjustments=minor(invoice.adjustments_micros),
        usage=micros_to_minor_units_ceiling(invoice.usage_micros, c),
        closing_balance=minor(invoice.closing_micros),
        opening_balance_micros=invoice.opening_micros,
        purchases_micros=invoice.purchases_micros, refunds_micros=invoice.refunds_micros,
        adjustments_micros=invoice.adjustments_micros, usage_micros=invoice.usage_micros,
        closing_balance_micros=invoice.closing_micros, entry_hash=invoice.entry_hash,
        closed_at=invoice.closed_at,
        lines=[InvoiceLineOut(x.kind, x.reference, minor(x.amount_micros), x.amount_micros,
                              x.occurred_at) for x in invoice.lines] if lines else [],
        usage_by_country=[
            InvoiceUsageOut(u.country, u.messages,
                            micros_to_minor_units_ceiling(u.cost_micros, c), u.cost_micros)
            for u in invoice.usage_by_country
        ],
    )
