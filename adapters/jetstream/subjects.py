"""Where a published envelope goes on the bus: one subject per event type,
so that a consumer subscribes to the types it reads and the server filters
the rest."""

from __future__ import annotations

SUBJECT_PREFIX = "smsledger"


def subject_of(envelope_type: str, prefix: str = SUBJECT_PREFIX) -> str:
    """`smsledger.<aggregate>.<event>`, all lowercase."""
    return f"{prefix}.{envelope_type}"
