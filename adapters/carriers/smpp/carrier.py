"""The SMPP 3.4 carrier: one transceiver bind, kept up, with windowed submits.

- The bind is supervised: a lost connection or a refused bind is retried with
  bounded, jittered exponential backoff until stop(). While unbound, submit()
  raises TemporaryCarrierError naming the last failure (a wrong password says
  so), so the dispatcher retries later instead of waiting on us.
- At most `window_size` submit_sm await their response; submit() waits for a
  slot. A long message is sent part by part (each part takes a slot).
- ESME_RTHROTTLED / ESME_RMSGQFUL pause every submit of this carrier (bounded
  exponential backoff) and the throttled submit_sm is sent again, up to
  `throttle_max_retries` times, then TemporaryCarrierError.
- A submit in flight when the connection drops raises TemporaryCarrierError at
  once and is not re-sent here: the SMSC may have taken it, so whether to send
  it again (and risk a duplicate) is the dispatcher's call, not ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from functools import partial

import smpp34

from adapters.carriers.smpp import pdu
from adapters.carriers.smpp.config import SmppConfig
from adapters.carriers.smpp.inbound import InboundDispatcher
from adapters.carriers.smpp.pdu import Frame, Status
from adapters.carriers.smpp.receipts import MultipartGroup, PartTracker
from adapters.carriers.smpp.session import (
    BindRefused,
    ResponseCallback,
    SessionClosed,
    SmppSession,
)
from adapters.carriers.smpp.text import ESM_CLASS_UDHI, UnencodableBody, encode_body, udh
from application.delivery.carriers import (
    InboundHandler,
    ReceiptHandler,
    SubmitRequest,
    SubmitResult,
    TemporaryCarrierError,
)

log = logging.getLogger(__name__)

ADDRESS_MAX = 20  # source_addr / destination_addr: 21 octets with the NUL
TON_ALPHANUMERIC, NPI_UNKNOWN = 5, 0
UNBIND_TIMEOUT_S = 2.0
ORPHAN_RECEIPTS_MAX = 10_000


class SmppCarrier:
    """The Carrier port over SMPP 3.4 (see the module docstring).

    Beyond the port (start, submit, stop, name): `is_bound`, `last_error` and
    `wait_bound(timeout_s)`, for health checks and tests.

    Receipts: a single-part message's receipt is passed on as it comes. A
    multipart message's is one receipt under the first part's id: DELIVRD once
    every part has reported DELIVRD, or the first final failure of any part at
    once (see receipts.MultipartGroup).
    """

    def __init__(self, config: SmppConfig) -> None:
        self.name = config.name
        self._config = config
        self._window = asyncio.Semaphore(config.window_size)
        self._tracker = PartTracker(config.max_tracked_parts, ORPHAN_RECEIPTS_MAX)
        self._inbound = InboundDispatcher(config.name, config.inbound_queue_size, self._tracker)
        self._session: SmppSession | None = None
        self._bound = asyncio.Event()
        self._stopping = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._last_error = "not started"
        self._paused_until = 0.0  # loop time before which no submit_sm goes out
        self._next_slot = 0.0  # loop time of the next submit_sm allowed by the rate
        self._reference = random.randrange(256)  # noqa: S311 - a UDH reference, not a secret
        self._multipart_in_flight = 0
        self._in_flight = 0  # submit_sm sent and not answered
        self._idle = asyncio.Event()
        self._idle.set()

    # -- the Carrier port ------------------------------------------------

    async def start(self, on_receipt: ReceiptHandler, on_inbound: InboundHandler) -> None:
        """Start binding; return once the first bind has succeeded or failed.

        Waits at most twice connect_timeout_s (connect, then bind response).
        A failed first bind is logged and retried in the background.
        """
        if self._supervisor is not None:
            return
        self._inbound.start(on_receipt, on_inbound)
        self._stopping.clear()
        first_attempt = asyncio.Event()
        self._supervisor = asyncio.create_task(
            self._supervise(first_attempt), name=f"smpp-supervisor-{self.name}"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_attempt.wait(), 2 * self._config.connect_timeout_s + 1)

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        if len(request.sender) > ADDRESS_MAX or len(request.destination) > ADDRESS_MAX + 1:
            return SubmitResult(False, reason="sender or destination too long for SMPP")
        try:
            body = encode_body(request.body, request.encoding)
        except UnencodableBody as exc:
            return SubmitResult(False, reason=str(exc))
        if not body.is_multipart:
            frame = await self._submit_part(request, body.data_coding, body.parts[0], 0, None)
            if frame.status != Status.ROK:
                return _refused(frame, "")
            return SubmitResult(True, carrier_message_id=pdu.read_c_string(frame.body))
        return await self._submit_multipart(request, body.data_coding, body.parts)

    async def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            await self._supervisor
            self._supervisor = None
        await self._inbound.stop(self._config.stop_timeout_s)

    # -- state, for health checks and tests -------------------------------

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    @property
    def last_error(self) -> str:
        """Why the carrier is not bound (or last was not); "" once bound."""
        return self._last_error

    async def wait_bound(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bound.wait(), timeout_s)
        return self.is_bound

    # -- the bind, kept up -----------------------------------------------

    async def _supervise(self, first_attempt: asyncio.Event) -> None:
        failures = 0
        while not self._stopping.is_set():  # ends with stop(); each turn is one bind
            session = await self._bind_once()
            first_attempt.set()
            if session is not None:
                failures = 0
                await self._serve(session)
            if self._stopping.is_set():
                break
            delay = self._backoff(
                failures, self._config.reconnect_min_s, self._config.reconnect_max_s
            )
            failures += 1
            log.info("%s: reconnecting in %.2fs", self.name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _bind_once(self) -> SmppSession | None:
        config = self._config
        try:
            session = await SmppSession.open(config, self._on_deliver, self._on_closed)
        except BindRefused as exc:
            self._last_error = f"{exc} (system_id {config.system_id!r})"
            log.error("%s: %s", self.name, self._last_error)
        except (OSError, TimeoutError, pdu.ProtocolError, asyncio.IncompleteReadError) as exc:
            self._last_error = f"cannot connect to {config.host}:{config.port}: {exc!r}"
            log.warning("%s: %s", self.name, self._last_error)
        else:
            self._last_error = ""
            log.info("%s: bound as transceiver to %s", self.name, session.label)
            return session
        return None

    async def _serve(self, session: SmppSession) -> None:
        self._session = session
        self._bound.set()
        stopping = asyncio.create_task(self._stopping.wait())
        closed = asyncio.create_task(session.wait_closed())
        await asyncio.wait({stopping, closed}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        closed.cancel()
        if not session.is_closed:
            # stop(): take no new submits, give those in flight their answers
            # (bounded), then unbind, as SMPP 3.4 asks of a closing ESME.
            self._bound.clear()
            self._last_error = "stopped"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self._config.stop_timeout_s)
            # The deliver_sm in hand is answered on this session before unbind.
            await self._inbound.stop(self._config.stop_timeout_s)
        self._session = None
        await session.close(UNBIND_TIMEOUT_S)

    def _on_closed(self, reason: str) -> None:
        # Called by the session the moment it ends, before anyone waiting on
        # it wakes up: from here on submits see the carrier unbound.
        self._bound.clear()
        if not self._stopping.is_set() and self._session is not None:
            self._last_error = f"disconnected: {reason}"
            log.warning("%s: %s", self.name, self._last_error)

    def _on_deliver(self, session: SmppSession, frame: Frame) -> None:
        self._inbound.offer(session, frame, self._multipart_in_flight > 0)

    # -- submitting -------------------------------------------------------

    async def _submit_multipart(
        self, request: SubmitRequest, data_coding: int, parts: tuple[bytes, ...]
    ) -> SubmitResult:
        group = MultipartGroup(total=len(parts))
        self._reference = (self._reference + 1) % 256
        reference = self._reference
        self._multipart_in_flight += 1
        try:
            for index, payload in enumerate(parts):
                message = udh(reference, len(parts), index + 1) + payload
                on_response = partial(self._register_part, group, index)
                frame = await self._submit_part(
                    request, data_coding, message, ESM_CLASS_UDHI, on_response
                )
                if frame.status != Status.ROK:
                    group.abandoned = True
                    return _refused(frame, f"part {index + 1}/{len(parts)}: ")
        except BaseException:
            group.abandoned = True
            raise
        finally:
            self._multipart_in_flight -= 1
        return SubmitResult(True, carrier_message_id=group.first_id)

    def _register_part(self, group: MultipartGroup, index: int, frame: Frame) -> None:
        # Runs in the reader as the resp is read, before any later receipt.
        if frame.status == Status.ROK:
            decided = self._tracker.register(pdu.read_c_string(frame.body), group, index)
            if decided is not None:
                self._inbound.emit(decided)

    async def _submit_part(
        self,
        request: SubmitRequest,
        data_coding: int,
        short_message: bytes,
        esm_class: int,
        on_response: ResponseCallback | None,
    ) -> Frame:
        config = self._config
        ton, npi, source = self._source(request.sender)
        destination = request.destination.removeprefix("+")

        def build(sequence: int) -> bytes:
            return smpp34.SubmitSm(
                source,
                destination,
                short_message,
                service_type=config.service_type,
                source_addr_ton=ton,
                source_addr_npi=npi,
                dest_addr_ton=config.dest_ton,
                dest_addr_npi=config.dest_npi,
                esm_class=esm_class,
                registered_delivery=1 if request.wants_receipt else 0,
                data_coding=data_coding,
                sequence_number=sequence,
            ).encode()

        for attempt in range(config.throttle_max_retries + 1):
            async with self._window:
                # Paced inside the window, so that a throttle pause set while
                # this submit waited for its slot still holds it back.
                await self._pace()
                session = self._session
                if session is None or session.is_closed or not self._bound.is_set():
                    raise TemporaryCarrierError(f"{self.name}: not bound: {self._last_error}")
                self._in_flight += 1
                self._idle.clear()
                try:
                    frame = await session.request(build, config.submit_timeout_s, on_response)
                except SessionClosed as exc:
                    raise TemporaryCarrierError(
                        f"{self.name}: connection lost with the submit in flight: {exc}"
                    ) from exc
                except TimeoutError as exc:
                    raise TemporaryCarrierError(
                        f"{self.name}: no submit_sm_resp within {config.submit_timeout_s}s"
                    ) from exc
                finally:
                    self._in_flight -= 1
                    if self._in_flight == 0:
                        self._idle.set()
            if frame.status not in pdu.THROTTLING_STATUSES:
                return frame
            self._throttled(attempt, frame.status)
        raise TemporaryCarrierError(
            f"{self.name}: still throttled after {config.throttle_max_retries} retries"
        )

    def _source(self, sender: str) -> tuple[int, int, str]:
        """Numbers use the configured TON/NPI; anything else is an alphanumeric sender."""
        number = sender.removeprefix("+")
        if number.isdigit():
            return self._config.source_ton, self._config.source_npi, number
        return TON_ALPHANUMERIC, NPI_UNKNOWN, sender

    async def _pace(self) -> None:
        """Wait for the throttle pause and for this submit's slot in the rate."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self._paused_until)
        if self._config.max_messages_per_second:
            at = max(at, self._next_slot)
            self._next_slot = at + 1 / self._config.max_messages_per_second
        if at > now:
            await asyncio.sleep(at - now)

    def _throttled(self, attempt: int, status: int) -> None:
        config = self._config
        delay = self._backoff(attempt, config.throttle_min_s, config.throttle_max_s)
        until = asyncio.get_running_loop().time() + delay
        self._paused_until = max(self._paused_until, until)
        log.info("%s: %s; pausing submits %.2fs", self.name, pdu.status_text(status), delay)

    @staticmethod
    def _backoff(failures: int, low: float, high: float) -> float:
        # Jitter (half to full delay) keeps many binds or submits from retrying in step.
        ceiling = min(high, low * (1 << min(failures, 30)))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def _refused(frame: Frame, prefix: str) -> SubmitResult:
    reason = f"{prefix}submit_sm refused: {pdu.status_text(frame.status)}"
    return SubmitResult(False, error_code=pdu.status_code(frame.status), reason=reason)
