"""What the read endpoints share: the page and cursor parameters, date
ranges, the pagination block, and running a read-model query.

A query function raises ValueError for input it refuses (a page size out of
range, a cursor it did not issue, an unknown status); `run_query` turns that,
and only that, into VALIDATION_ERROR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from litestar.params import QueryParameter
from psycopg import Cursor

from adapters.http.bodies import Meta, Page, Pagination
from adapters.postgres.read_models import ReadModels
from application.errors import ValidationFailed
from domain.errors import DomainError
from domain.messaging.phone import parse_phone

P = ParamSpec("P")
R = TypeVar("R")
Row = TypeVar("Row")
T = TypeVar("T")
# What a paged query returns: the rows, the next page's cursor (None on the
# last), whether there are more, and how many there are in all.
Paged = tuple[Sequence[Row], str | None, bool, int]

DEFAULT_PAGE_SIZE = 50
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 500

PageSize = Annotated[
    int,
    QueryParameter(
        ge=MIN_PAGE_SIZE, le=MAX_PAGE_SIZE,
        description=f"Results per page ({MIN_PAGE_SIZE}-{MAX_PAGE_SIZE})",
    ),
]
PageCursor = Annotated[
    str | None,
    QueryParameter(max_length=512, description="The cursor of the previous page's pagination"),
]
RangeStart = Annotated[
    str | None,
    QueryParameter(
        description="Start of the range, inclusive: an ISO 8601 date or date-time (UTC when "
        "it has no offset)"
    ),
]
RangeEnd = Annotated[
    str | None,
    QueryParameter(description="End of the range, inclusive (a date means to its end)"),
]


def run_query(
    read_models: ReadModels,
    query: Callable[Concatenate[Cursor[Any], P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Call a read-model query; its ValueError is the caller's bad input."""
    try:
        return read_models.query(query, *args, **kwargs)
    except ValueError as error:
        raise ValidationFailed(str(error)) from error


def pagination(page_size: int, result: Paged[Any]) -> Pagination:
    _, token, has_more, total = result
    return Pagination(total=total, page_size=page_size, has_more=has_more, cursor=token)


def page_of(out: Callable[[Row], T], result: Paged[Row], page_size: int, meta: Meta) -> Page[T]:
    """The answer for one page of a query, each row as `out` shows it."""
    rows, token, has_more, total = result
    return Page([out(row) for row in rows], Pagination(total, page_size, has_more, token), meta)


@dataclass(frozen=True, slots=True)
class DateRange:
    start: datetime | None
    end: datetime | None


def date_range(from_date: str | None, to_date: str | None) -> DateRange:
    """Inclusive bounds in UTC. A bare date starts at its midnight as
    `from_date` and runs to its last microsecond as `to_date`."""
    start = None if from_date is None else _instant(from_date, "from_date", end=False)
    end = None if to_date is None else _instant(to_date, "to_date", end=True)
    if start is not None and end is not None and start > end:
        raise ValidationFailed(
            "from_date must not be after to_date", from_date=from_date, to_date=to_date
        )
    return DateRange(start, end)


def _instant(text: str, name: str, *, end: bool) -> datetime:
    value = text.strip()
    try:
        if len(value) == len("YYYY-MM-DD"):
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise ValidationFailed(
            f"{name} must be an ISO 8601 date or date-time", **{name: text}
        ) from None
    except OverflowError:
        # A valid local time whose UTC value leaves the calendar, such as
        # 9999-12-31T23:59:59-14:00.
        raise ValidationFailed(
            f"{name} must fall within the years 1 to 9999 in UTC", **{name: text}
        ) from None


def destination_filter(destination: str | None) -> str | None:
    """The number in E.164 form, as the log stores it. A `+` sent unescaped
    in a query string arrives as a space; the number is still understood."""
    if destination is None:
        return None
    text = destination.strip()
    if text.isdigit() and not text.startswith("00"):
        text = "+" + text
    try:
        return parse_phone(text).e164
    except DomainError as error:
        raise ValidationFailed(
            "destination must be an E.164 number", destination=destination
        ) from error
