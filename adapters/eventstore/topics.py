"""Stored topics of event classes that moved.

A stored event names its class by topic (`module:QualName`), and the rows
keep the topic they were written under. The domain lists the topics its
moved classes had; here they are registered with the library, so that
resolving an old topic finds today's class. Reads that select rows by topic
ask `application.ledger.topics.stored_topics` for every topic a class was
stored under.
"""

from __future__ import annotations

from eventsourcing.utils import register_topic

from domain.wallet import FORMER_TOPICS


def register_former_topics() -> None:
    """Idempotent: registering a topic again for the same class is a no-op."""
    for topic, event_class in FORMER_TOPICS.items():
        register_topic(topic, event_class)

