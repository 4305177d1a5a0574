"""Which topics an event class's stored rows may carry: today's, and those
it had before it moved (listed by its aggregate). Every read that selects
rows by topic asks for all of them, or it would silently skip old rows."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from domain.wallet import former_topics


def stored_topics(event_class: type) -> list[str]:
    """Every topic rows of `event_class` may carry: today's first."""
    return [get_topic(event_class), *former_topics(event_class)]
