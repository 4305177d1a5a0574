"""An invoice as a PDF, rendered with fpdf2.

Amounts are printed in currency units with two decimals, from the exact micros
(money.micros_to_decimal), so the PDF reads back to the same figures.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from fpdf import FPDF

from application.billing.invoices import Invoice
from domain.money import micros_to_decimal

MAX_LINES_PRINTED = 500  # a month with more lists them in the JSON invoice


def money(amount_micros: int, currency: str) -> str:
    value = micros_to_decimal(amount_micros).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return f"{currency} {value:,.2f}"


def render_invoice(invoice: Invoice, account_name: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {invoice.month}")
    pdf.set_creator("smsledger")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    title = f"DRAFT statement for {invoice.month}, to date" if invoice.draft \
        else f"Statement for {invoice.month}"
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    period = f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d} (UTC)"
    if invoice.draft:
        period = (f"{invoice.period_start:%Y-%m-%d} to {invoice.closed_at:%Y-%m-%d %H:%M} "
                  "(UTC): the month is not over; this is not its invoice")
    for text in (
        f"Account: {account_name} ({invoice.account_id})",
        f"Invoice: {invoice.id}",
        f"Period: {period}",
        f"Ledger entry hash: {invoice.entry_hash}",
    ):
        pdf.cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    c = invoice.currency
    _rows(pdf, "Summary", [
        ("Opening balance", money(invoice.opening_micros, c)),
        ("Purchases", money(invoice.purchases_micros, c)),
        ("Refunds", money(-invoice.refunds_micros, c)),
        ("Adjustments", money(invoice.adjustments_micros, c)),
        ("Usage", money(-invoice.usage_micros, c)),
        ("Closing balance", money(invoice.closing_micros, c)),
    ])
    _rows(pdf, "Usage by country", [
        (f"{u.country}: {u.messages} messages", money(u.cost_micros, c))
        for u in invoice.usage_by_country
    ])
    _rows(pdf, "Purchases, refunds and adjustments", [
        (f"{line.occurred_at:%Y-%m-%d %H:%M} {line.kind} {line.reference}",
         money(line.amount_micros, c))
        for line in invoice.lines[:MAX_LINES_PRINTED]
    ])
    return bytes(pdf.output())


def _rows(pdf: FPDF, heading: str, rows: list[tuple[str, str]]) -> None:
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    if not rows:
        pdf.cell(0, 6, "None", new_x="LMARGIN", new_y="NEXT")
    for label, amount in rows:
        pdf.cell(130, 6, _latin1(label)[:90])
        pdf.cell(0, 6, amount, align="R",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _latin1(text: str) -> str:
    """The core fonts are Latin-1: anything else prints as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")
