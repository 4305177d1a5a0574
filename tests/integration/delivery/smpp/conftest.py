"""Fixtures: a real SMSC (smpp34's server) on 127.0.0.1 and a free port, and
carriers bound to it, torn down after each test with nothing left running."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.carriers.smpp import SmppCarrier, SmppConfig
from tests.support.smsc import CuttableLink, Recorder, ScriptedSmsc, free_port

NET_SMPP_SMSC = Path(__file__).with_name("net_smpp_smsc.pl")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) <= before, "a test left a thread running"


@pytest.fixture
async def smsc() -> AsyncIterator[ScriptedSmsc]:
    already_running = asyncio.all_tasks()
    server = ScriptedSmsc(free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        # Torn down last: whatever the carriers and the link started has ended.
        left = asyncio.all_tasks() - already_running - {asyncio.current_task()}
        assert [t for t in left if "TestRunner" not in repr(t.get_coro())] == []


@pytest.fixture
async def link(smsc: ScriptedSmsc) -> AsyncIterator[CuttableLink]:
    relay = CuttableLink(smsc.port)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


CarrierFactory = Callable[..., Any]


@pytest.fixture
async def carriers(smsc: ScriptedSmsc) -> AsyncIterator[CarrierFactory]:
    """make(recorder=None, **config) -> (carrier, recorder), started; stopped after.

    Depends on `smsc` so that carriers are stopped (and unbind) before it is.
    """
    started: list[SmppCarrier] = []

    async def make(
        recorder: Recorder | None = None, **overrides: Any
    ) -> tuple[SmppCarrier, Recorder]:
        settings: dict[str, Any] = {
            "name": "smpp-test", "host": "127.0.0.1", "port": smsc.port,
            "system_id": "esme", "password": "secret", "connect_timeout_s": 2.0,
            "reconnect_min_s": 0.05, "reconnect_max_s": 0.2, "submit_timeout_s": 5.0,
            "throttle_min_s": 0.02, "throttle_max_s": 0.1,
        } | overrides  # fmt: skip
        carrier = SmppCarrier(SmppConfig(**settings))
        recorder = recorder or Recorder()
        started.append(carrier)
        await carrier.start(recorder.on_receipt, recorder.on_inbound)
        return carrier, recorder

    try:
        yield make
    finally:
        for carrier in started:
            await asyncio.wait_for(carrier.stop(), 10)


class NetSmppSmsc:
    """A second, independent SMSC (Net::SMPP, Perl) that checks passwords."""

    def __init__(self, perl: str) -> None:
        self.process = subprocess.Popen(
            [perl, str(NET_SMPP_SMSC), "esme", "secret"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline().split()[1])

    def finish(self) -> list[str]:
        """Stop it (it exits when its stdin closes); the lines it printed."""
        assert self.process.stdin is not None and self.process.stdout is not None
        if not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        return self.process.stdout.read().splitlines()


@pytest.fixture
def net_smpp_smsc() -> Iterator[NetSmppSmsc]:
    perl = shutil.which("perl")
    if perl is None or subprocess.run([perl, "-MNet::SMPP", "-e1"], check=False).returncode:
        pytest.skip("needs perl with Net::SMPP (Debian package libnet-smpp-perl)")
    smsc = NetSmppSmsc(perl)
    try:
        yield smsc
    finally:
        smsc.finish()
