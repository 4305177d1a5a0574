"""The webhooks role's part of the composition root: the consumer that turns
published envelopes into queued deliveries, and the sender that posts them."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext

from adapters.bootstrap.container import Container
from adapters.projector.runner import ProjectionRunner
from adapters.webhooks.intake import WebhookIntake
from adapters.webhooks.sender import WebhookSender


def start_webhooks(
    container: Container, js: JetStreamContext, stop: asyncio.Event, stream: str
) -> list[asyncio.Task[None]]:
    """The webhook consumer (envelopes to queued deliveries) and the sender."""
    bus, hooks = container.settings.bus, container.settings.webhooks
    intake = ProjectionRunner(
        WebhookIntake(), container.pool, max_deliveries=bus.projection_max_deliveries
    )
    return [
        asyncio.create_task(
            intake.run(js, stop, stream=stream, subject_prefix=bus.subject_prefix,
                       batch_size=hooks.batch_size),
            name="webhooks:intake",
        ),
        asyncio.create_task(build_webhook_sender(container).run(stop), name="webhooks:sender"),
    ]


def build_webhook_sender(container: Container) -> WebhookSender:
    return WebhookSender(
        container.database_url, container.webhook_guard, container.settings.webhooks
    )
