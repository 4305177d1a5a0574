"""Settings of one SMPP route (one transceiver bind to one SMSC)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.carriers.smpp import pdu


@dataclass(frozen=True, slots=True)
class SmppConfig:
    name: str  # the carrier name on receipts and inbound messages
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    window_size: int = 10  # submit_sm awaiting their submit_sm_resp at once
    enquire_link_interval_s: float = 30.0
    connect_timeout_s: float = 10.0  # TCP connect, and again bind_transceiver_resp
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    submit_timeout_s: float = 30.0  # submit_sm_resp (and enquire_link_resp)
    stop_timeout_s: float = 5.0  # stop() waits this long for submits in flight
    throttle_min_s: float = 0.2
    throttle_max_s: float = 10.0
    throttle_max_retries: int = 6  # retries of one submit_sm after ESME_RTHROTTLED
    max_messages_per_second: float | None = None  # the route's rate; None: as the SMSC allows
    source_ton: int = 1  # numeric senders; alphanumeric ones always go as TON 5 / NPI 0
    source_npi: int = 1
    dest_ton: int = 1  # destinations are E.164: international / ISDN
    dest_npi: int = 1
    service_type: str = ""
    inbound_queue_size: int = 1_000  # deliver_sm read but not yet handed to the application
    max_tracked_parts: int = 200_000  # multipart part ids remembered for receipt matching

    def __post_init__(self) -> None:
        # Checked here so a bad setting fails at start-up, not on the wire.
        pdu.c_string(self.system_id, pdu.SYSTEM_ID_MAX, "system_id")
        pdu.c_string(self.password, pdu.PASSWORD_MAX, "password")
        pdu.c_string(self.system_type, pdu.SYSTEM_TYPE_MAX, "system_type")
        if not 0 < self.port < 65536:
            raise ValueError("port must be 1..65535")
        if self.window_size < 1 or self.inbound_queue_size < 1 or self.max_tracked_parts < 1:
            raise ValueError("window_size, inbound_queue_size, max_tracked_parts must be >= 1")
        if self.throttle_max_retries < 0:
            raise ValueError("throttle_max_retries must be >= 0")
        positive = (
            self.enquire_link_interval_s, self.connect_timeout_s, self.submit_timeout_s,
            self.reconnect_min_s, self.throttle_min_s, self.stop_timeout_s,
        )  # fmt: skip
        if min(positive) <= 0:
            raise ValueError("intervals and timeouts must be > 0")
        if self.reconnect_max_s < self.reconnect_min_s or self.throttle_max_s < self.throttle_min_s:
            raise ValueError("backoff maximum below its minimum")
        if self.max_messages_per_second is not None and self.max_messages_per_second <= 0:
            raise ValueError("max_messages_per_second must be > 0")
