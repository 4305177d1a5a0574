"""The JetStream stream that carries the published envelopes.

Its settings come from configuration and are declared idempotently at start:
created if missing, updated if they differ. File storage always, so a NATS
restart loses nothing it acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from adapters.config.settings import BusSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    name: str
    subject_prefix: str
    duplicate_window_s: float
    max_age_s: float
    retention: str  # "limits" or "interest"
    replicas: int = 1

    @property
    def subjects(self) -> list[str]:
        return [f"{self.subject_prefix}.>"]

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=self.subjects,
            storage=StorageType.FILE,
            retention=RetentionPolicy(self.retention),
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_s,
            duplicate_window=self.duplicate_window_s,
            num_replicas=self.replicas,
        )


def stream_settings(bus: BusSettings) -> StreamSettings:
    return StreamSettings(
        name=bus.stream_name,
        subject_prefix=bus.subject_prefix,
        duplicate_window_s=bus.duplicate_window_s,
        max_age_s=bus.max_age_s,
        retention=bus.retention,
    )


async def ensure_stream(js: JetStreamContext, settings: StreamSettings) -> None:
    wanted = settings.config()
    try:
        info = await js.stream_info(settings.name)
    except NotFoundError:
        await js.add_stream(wanted)
        log.info("created stream %s for %s", settings.name, settings.subjects)
        return
    current = info.config
    differs = (
        current.subjects != wanted.subjects
        or current.max_age != wanted.max_age
        or current.duplicate_window != wanted.duplicate_window
        or current.retention != wanted.retention
    )
    if differs:
        await js.update_stream(wanted)
        log.info("updated stream %s settings", settings.name)
