"""Recording a batch of attempts in one transaction: each delivery's new
state, one attempt row each, and what the attempts say about endpoints.

An endpoint that answers 410 is disabled at once. One whose attempts have
all failed since `failing_since`, for longer than the configured period
(3 days by default), is marked inactive, and a `webhook.disabled` notice is
recorded for the account. A success clears `failing_since`. Callback URLs
are no endpoint's own address and change no endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncCursor

from adapters.webhooks.queue import Outcome

log = logging.getLogger(__name__)

DISABLED_NOTICE = "webhook.disabled"

_UPDATE_DELIVERIES = """
    UPDATE webhook_deliveries d
    SET status = u.status, next_attempt_at = COALESCE(u.next_at, d.next_attempt_at),
        lease_until = NULL, updated_at = now()
    FROM unnest(%s::bigint[], %s::integer[], %s::text[], %s::timestamptz[])
         AS u(id, attempt, status, next_at)
    WHERE d.id = u.id AND d.status = 'sending' AND d.attempts = u.attempt
"""
_INSERT_ATTEMPTS = """
    INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempt, status_code, latency_ms,
                                  error, attempted_at, next_attempt_at)
    SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::integer[], %s::integer[],
                         %s::integer[], %s::text[], %s::timestamptz[], %s::timestamptz[])
"""
_DISABLE = """
    UPDATE webhook_endpoints
    SET active = false, disabled_reason = %s, disabled_at = now(), updated_at = now()
    WHERE id = ANY(%s) AND active {condition}
    RETURNING id, account_id
"""


async def record(
    conn: AsyncConnection[Any], outcomes: Sequence[Outcome], disable_after_s: float
) -> int:
    """Record `outcomes`; returns how many endpoints were disabled."""
    if not outcomes:
        return 0
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.execute(_UPDATE_DELIVERIES, (
            [o.delivery_id for o in outcomes], [o.attempt for o in outcomes],
            [o.status for o in outcomes], [o.next_attempt_at for o in outcomes],
        ))
        await cursor.execute(_INSERT_ATTEMPTS, (
            [o.delivery_id for o in outcomes], [o.endpoint_id for o in outcomes],
            [o.attempt for o in outcomes], [o.status_code for o in outcomes],
            [o.latency_ms for o in outcomes], [o.error for o in outcomes],
            [o.attempted_at for o in outcomes], [o.next_attempt_at for o in outcomes],
        ))
        return await _update_endpoints(cursor, outcomes, disable_after_s)


async def _update_endpoints(
    cursor: AsyncCursor[Any], outcomes: Sequence[Outcome], disable_after_s: float
) -> int:
    own = [o for o in outcomes if o.endpoint_id is not None and o.kind != "callback"]
    # The latest attempt per endpoint says whether it is failing now; the
    # first failure after its last success says since when.
    latest: dict[UUID, Outcome] = {}
    first_failure: dict[UUID, datetime] = {}
    for outcome in sorted(own, key=lambda o: o.attempted_at):
        assert outcome.endpoint_id is not None
        latest[outcome.endpoint_id] = outcome
        if outcome.status == "succeeded":
            first_failure.pop(outcome.endpoint_id, None)
        else:
            first_failure.setdefault(outcome.endpoint_id, outcome.attempted_at)
    healthy = [e for e, o in latest.items() if o.status == "succeeded"]
    failing = [e for e, o in latest.items() if o.status != "succeeded"]
    if healthy:
        await cursor.execute(
            "UPDATE webhook_endpoints SET failing_since = NULL"
            " WHERE id = ANY(%s) AND failing_since IS NOT NULL", (healthy,))
    if failing:
        await cursor.execute(
            "UPDATE webhook_endpoints e SET failing_since = u.since"
            " FROM unnest(%s::uuid[], %s::timestamptz[]) AS u(id, since)"
            " WHERE e.id = u.id AND e.failing_since IS NULL",
            (failing, [first_failure[e] for e in failing]),
        )
    gone = sorted({o.endpoint_id for o in own if o.gone and o.endpoint_id is not None})
    disabled = await _disable(cursor, gone, "The endpoint answered 410 Gone", "")
    disabled += await _disable(
        cursor, failing,
        f"Every attempt failed for {disable_after_s / 3600:g} hours",
        f"AND failing_since <= now() - {float(disable_after_s)} * interval '1 second'",
    )
    return disabled


async def _disable(cursor: AsyncCursor[Any], endpoint_ids: Sequence[UUID], reason: str,
             condition: str) -> int:
    if not endpoint_ids:
        return 0
    await cursor.execute(_DISABLE.format(condition=condition), (reason, list(endpoint_ids)))
    rows = await cursor.fetchall()
    for endpoint_id, account_id in rows:
        await cursor.execute(
            "INSERT INTO webhook_notices (account_id, endpoint_id, kind, detail)"
            " VALUES (%s, %s, %s, %s)",
            (account_id, endpoint_id, DISABLED_NOTICE, reason),
        )
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
    return len(rows)
