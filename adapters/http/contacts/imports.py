"""The CSV import's streaming, and how an import is shown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from adapters.http.contacts.schemas import ImportOut, InvalidRowOut
from application.contacts.csv_stream import CsvRecords
from application.contacts.imports import CsvHeader, ImportReport, ImportSession, take_csv_records
from application.errors import ValidationFailed

# 100,000 rows with a few custom fields fit several times over.
MAX_CSV_BYTES = 64 * 1024 * 1024


async def stream_csv(chunks: AsyncIterator[bytes], session: ImportSession) -> ImportReport:
    """Parse the body as it arrives; each piece's rows are written (a chunk
    at a time) off the event loop. Memory holds a piece, a partial record
    and one chunk of rows."""
    records = CsvRecords()
    header: CsvHeader | None = None
    try:
        async for piece in chunks:
            parsed = records.feed(piece)
            if parsed:
                header = await asyncio.to_thread(take_csv_records, session, header, parsed)
        header = await asyncio.to_thread(take_csv_records, session, header, records.finish())
        if header is None:
            raise ValidationFailed(
                "The CSV is empty: its first line is a header, e.g. phone,name,email"
            )
        return await asyncio.to_thread(session.finish)
    except BaseException as error:
        reason = getattr(error, "message", None) or str(error) or type(error).__name__
        await asyncio.to_thread(session.fail, reason)
        raise


def import_out(report: ImportReport, group_id: UUID | None) -> ImportOut:
    tally = report.tally
    return ImportOut(
        id=str(report.import_id), status=report.status,
        group_id=str(group_id) if group_id else None, imported=tally.imported,
        created=tally.created, updated=tally.updated, skipped=tally.skipped,
        invalid=tally.invalid, total=tally.total,
        invalid_rows=[InvalidRowOut(p.line, p.phone, p.reason) for p in tally.problems],
    )


def job_out(row: dict[str, Any]) -> ImportOut:
    return ImportOut(
        id=row["id"], status=row["status"], group_id=row["group_id"],
        imported=int(row["imported"]), created=int(row["created"]),
        updated=int(row["updated"]), skipped=int(row["skipped"]),
        invalid=int(row["invalid"]), total=int(row["total"]),
        invalid_rows=[InvalidRowOut(e["line"], e["phone"], e["reason"]) for e in row["errors"]],
        failure=row["failure"], started_at=row["started_at"], finished_at=row["finished_at"],
    )
