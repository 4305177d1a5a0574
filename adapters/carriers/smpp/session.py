"""One bound SMPP transceiver session over one TCP connection.

The session matches responses to requests by sequence number, answers the
SMSC's enquire_link and unbind, sends its own enquire_link, and hands each
deliver_sm to a callback that answers it later (after the application has it).
When the connection ends, for whatever reason, every request still waiting
fails with SessionClosed at once, so no caller waits out its timeout on a dead
socket. Reconnecting is the carrier's job: a session is used once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from adapters.carriers.smpp import pdu
from adapters.carriers.smpp.config import SmppConfig
from adapters.carriers.smpp.pdu import Command, Frame, Status

log = logging.getLogger(__name__)

DeliverCallback = Callable[["SmppSession", Frame], None]
ResponseCallback = Callable[[Frame], None]


class SessionClosed(Exception):
    """The connection ended before the response came."""


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind_transceiver refused: {pdu.status_text(status)}")
        self.status = status


class SmppSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_deliver: DeliverCallback,
        on_closed: Callable[[str], None],
        label: str,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_deliver = on_deliver
        self._on_closed = on_closed
        self.label = label
        self._pending: dict[int, tuple[asyncio.Future[Frame], ResponseCallback | None]] = {}
        self._sequence = 0
        self._closed = asyncio.Event()
        self.close_reason = ""
        self._reader_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, config: SmppConfig, on_deliver: DeliverCallback, on_closed: Callable[[str], None]
    ) -> SmppSession:
        """Connect and bind as transceiver; raises BindRefused, TimeoutError or OSError.

        `on_closed` runs the moment the connection is known to be gone, so the
        carrier stops counting itself bound before any waiter wakes up.
        """
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.connect_timeout_s
        )
        label = f"{config.name}@{config.host}:{config.port}"
        session = cls(reader, writer, on_deliver, on_closed, label)
        try:
            await asyncio.wait_for(session._bind(config), config.connect_timeout_s)
        except BaseException:
            session._abort("bind did not complete")
            await session._join()
            raise
        session._reader_task = asyncio.create_task(
            session._read_loop(), name=f"smpp-read-{session.label}"
        )
        session._keepalive_task = asyncio.create_task(
            session._keepalive(config.enquire_link_interval_s, config.submit_timeout_s),
            name=f"smpp-keepalive-{session.label}",
        )
        return session

    async def _bind(self, config: SmppConfig) -> None:
        sequence = self._next_sequence()
        self._writer.write(
            pdu.bind_transceiver(
                sequence, config.system_id, config.password, config.system_type, 0, 0
            )
        )
        await self._writer.drain()
        # Nothing but the bind response may come before we are bound (SMPP 3.4,
        # 2.3), so the first PDU is the answer; anything else is a refusal.
        frame = await pdu.read_frame(self._reader)
        if frame.command_id not in (Command.BIND_TRANSCEIVER_RESP, Command.GENERIC_NACK):
            raise BindRefused(Status.RBINDFAIL)
        if frame.status != Status.ROK or frame.command_id == Command.GENERIC_NACK:
            raise BindRefused(frame.status or Status.RBINDFAIL)

    @property
    def is_closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return self.close_reason

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % pdu.MAX_SEQUENCE + 1
        return self._sequence

    async def request(
        self,
        build: Callable[[int], bytes],
        timeout_s: float,
        on_response: ResponseCallback | None = None,
    ) -> Frame:
        """Send the PDU `build(sequence)` and wait for its response.

        `on_response` runs in the reader, before the next PDU is read, so that
        state it records (a part's message id) is there for a receipt that
        follows the response on the wire.
        """
        if self.is_closed:
            raise SessionClosed(self.close_reason)
        sequence = self._next_sequence()
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = (future, on_response)
        try:
            try:
                self._writer.write(build(sequence))
                await self._writer.drain()
            except (ConnectionError, OSError) as exc:
                self._abort(f"write failed: {exc!r}")
                raise SessionClosed(self.close_reason) from exc
            # Apart: TimeoutError is an OSError, and a late answer is no lost link.
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._pending.pop(sequence, None)

    def respond(self, command_id: int, sequence: int, status: int = 0, body: bytes = b"") -> None:
        """Answer a PDU of the SMSC's; a no-op once closed (the SMSC resends)."""
        if not self.is_closed:
            self._writer.write(pdu.encode(command_id, sequence, body, status))

    async def _read_loop(self) -> None:
        reason = "connection closed by the SMSC"
        try:
            while not self.is_closed:
                self._dispatch(await pdu.read_frame(self._reader))
        except asyncio.IncompleteReadError:
            pass
        except (ConnectionError, OSError, pdu.ProtocolError) as exc:
            reason = f"connection lost: {exc!r}"
        except Exception as exc:  # a bug of ours in dispatch: say so, then reconnect
            log.exception("%s: reader failed", self.label)
            reason = f"reader failed: {exc!r}"
        finally:
            self._abort(reason)

    def _dispatch(self, frame: Frame) -> None:
        if frame.is_response:
            entry = self._pending.pop(frame.sequence, None)
            if entry is None:
                log.debug("%s: response 0x%08X to no request", self.label, frame.command_id)
                return
            future, on_response = entry
            if not future.done():
                if on_response is not None:
                    on_response(frame)
                future.set_result(frame)
        elif frame.command_id == Command.DELIVER_SM:
            self._on_deliver(self, frame)
        elif frame.command_id == Command.ENQUIRE_LINK:
            self.respond(Command.ENQUIRE_LINK_RESP, frame.sequence)
        elif frame.command_id == Command.UNBIND:
            self.respond(Command.UNBIND_RESP, frame.sequence)
            self._abort("unbound by the SMSC")
        elif frame.command_id != Command.ALERT_NOTIFICATION:  # the one request with no answer
            self.respond(Command.GENERIC_NACK, frame.sequence, Status.RINVCMDID)

    async def _keepalive(self, interval_s: float, timeout_s: float) -> None:
        def build(sequence: int) -> bytes:
            return pdu.encode(Command.ENQUIRE_LINK, sequence)

        while not self.is_closed:
            await asyncio.sleep(interval_s)
            try:
                await self.request(build, timeout_s)
            except SessionClosed:
                return
            except TimeoutError:
                self._abort(f"no enquire_link_resp within {timeout_s}s")

    def _abort(self, reason: str) -> None:
        if self.is_closed:
            return
        self.close_reason = reason
        self._closed.set()
        self._on_closed(reason)
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(SessionClosed(reason))
        self._pending.clear()
        self._writer.close()

    async def close(self, timeout_s: float) -> None:
        """Unbind (waiting at most `timeout_s` for unbind_resp), then disconnect."""
        if not self.is_closed:

            def build(sequence: int) -> bytes:
                return pdu.encode(Command.UNBIND, sequence)

            with contextlib.suppress(SessionClosed, TimeoutError):
                await self.request(build, timeout_s)
        self._abort("closed by us")
        await self._join()

    async def _join(self) -> None:
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
        # The reader ends by itself once the transport is closed.
        tasks = [t for t in (self._reader_task, self._keepalive_task) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
