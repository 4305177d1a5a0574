"""The embedded servers start, keep their data across restarts, and stop cleanly."""

from __future__ import annotations

import asyncio
import os
import pathlib
import socket

import nats
import psutil
import psycopg
import pytest
from nats.js.api import StorageType

from adapters.runtime import embedded
from adapters.runtime.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    find_nats_server_binary,
)
from tests.support.infra import (
    create_database,
    drop_database,
    new_run_id,
    postgres_server_dsn,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def no_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NATS_URL", raising=False)


def _postmaster_pid(pgdata: pathlib.Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@pytest.mark.usefixtures("no_server_env")
def test_embedded_postgres_keeps_data_across_restarts(tmp_path: pathlib.Path) -> None:
    first = EmbeddedPostgres(tmp_path)
    try:
        dsn = first.start()
        assert first.start() == dsn  # a second start() on a running instance is a no-op
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            conn.execute("CREATE TABLE survivor (note text)")
            conn.execute("INSERT INTO survivor VALUES ('written by the first run')")
        pid = _postmaster_pid(tmp_path / "postgres")
        # Fast shutdown must not wait for clients, e.g. a leaked pool.
        leaked = psycopg.connect(dsn)
        leaked.execute("SELECT 1")
    finally:
        first.stop()
    leaked.close()
    first.stop()  # idempotent
    assert (
        not psutil.pid_exists(pid)
        or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    )
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()

    with EmbeddedPostgres(tmp_path) as second, psycopg.connect(second.dsn) as conn:
        assert conn.execute("SELECT note FROM survivor").fetchall() == [
            ("written by the first run",)
        ]


@pytest.mark.usefixtures("no_server_env")
def test_embedded_postgres_survives_a_0700_parent_dir(tmp_path: pathlib.Path) -> None:
    # As root, postgres runs as another user that must traverse the parents.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with (
        EmbeddedPostgres(private / "data") as server,
        psycopg.connect(server.dsn) as conn,
    ):
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


async def _publish(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        jetstream = client.jetstream()
        await jetstream.add_stream(
            name=stream, subjects=[f"{stream}.>"], storage=StorageType.FILE
        )
        ack = await jetstream.publish(f"{stream}.sent", b"kept on disk")
        assert ack.seq == 1
    finally:
        await client.close()


async def _read_back(url: str, stream: str) -> tuple[int, bytes | None]:
    client = await nats.connect(url)
    try:
        jetstream = client.jetstream()
        info = await jetstream.stream_info(stream)
        message = await jetstream.get_msg(stream, seq=1)
        return info.state.messages, message.data
    finally:
        await client.close()


@pytest.mark.usefixtures("no_server_env")
def test_embedded_nats_keeps_streams_across_restarts(tmp_path: pathlib.Path) -> None:
    stream = f"runtime_{new_run_id()}"
    with EmbeddedNats(tmp_path) as first:
        assert first.url.startswith("nats://127.0.0.1:")
        asyncio.run(_publish(first.url, stream))
        state = (tmp_path / "nats.state.json").read_text()
    assert "pid" in state
    assert not (tmp_path / "nats.state.json").exists()
    assert "sync_interval: always" in (tmp_path / "nats.conf").read_text()

    second = EmbeddedNats(tmp_path)
    try:
        url = second.start()
        assert asyncio.run(_read_back(url, stream)) == (1, b"kept on disk")
    finally:
        second.stop()
    second.stop()  # idempotent
    assert "Server is ready" in (tmp_path / "nats.log").read_text()


@pytest.mark.usefixtures("no_server_env")
def test_embedded_nats_replaces_a_server_left_running(tmp_path: pathlib.Path) -> None:
    # A crashed run leaves its server up; two servers on one store would corrupt it.
    orphaned = EmbeddedNats(tmp_path)
    orphaned.start()
    leftover = orphaned._process
    assert leftover is not None
    with EmbeddedNats(tmp_path) as fresh:
        assert leftover.wait(timeout=10) is not None
        asyncio.run(_publish(fresh.url, f"fresh_{new_run_id()}"))
    orphaned.stop()  # the process is gone already; must not raise


@pytest.mark.usefixtures("no_server_env")
def test_embedded_nats_retries_when_its_port_is_taken(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken_port = squatter.getsockname()[1]
        ports = iter([taken_port])
        real_find_free_port = embedded._find_free_port
        monkeypatch.setattr(
            embedded,
            "_find_free_port",
            lambda: next(ports, None) or real_find_free_port(),
        )
        with EmbeddedNats(tmp_path) as server:
            assert server.url != f"nats://127.0.0.1:{taken_port}"
        with pytest.raises(RuntimeError, match="in use"):
            EmbeddedNats(tmp_path, port=taken_port).start()


def test_nats_server_binary_comes_from_the_virtualenv() -> None:
    binary = find_nats_server_binary()
    assert binary.is_file() and os.access(binary, os.X_OK)


def test_create_and_drop_database(tmp_path: pathlib.Path) -> None:
    server_dsn, stop_server = postgres_server_dsn(tmp_path)
    name = f"smsledger_test_{new_run_id()}"
    try:
        database_dsn = create_database(server_dsn, name)
        lingering = psycopg.connect(database_dsn, autocommit=True)
        assert lingering.execute("SELECT current_database()").fetchone() == (name,)
        lingering.execute("CREATE TABLE scratch (id int)")

        drop_database(server_dsn, name)  # must not be blocked by `lingering`
        drop_database(server_dsn, name)  # idempotent

        with psycopg.connect(server_dsn) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            )
            assert found.fetchone() is None
        lingering.close()
    finally:
        drop_database(server_dsn, name)
        stop_server()


def test_database_names_are_checked() -> None:
    with pytest.raises(ValueError):
        create_database(
            "postgresql://unused@/postgres", "Robert'); DROP TABLE students;--"
        )
    run_id = new_run_id()
    assert run_id != new_run_id()
    assert run_id.isalnum() and run_id == run_id.lower()
