"""The webhook client's hard limits, against local servers that misbehave:
redirects are not followed, the response read is capped, every attempt has
a deadline, and the connection goes to the checked address while the Host
header and TLS (SNI and the certificate) name the host."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.webhooks.client import MAX_RESPONSE_BYTES, TargetClients
from adapters.webhooks.ssrf import Target

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
HOST = "hooks.example.test"


@asynccontextmanager
async def server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A one-request-per-connection HTTP server on 127.0.0.1; yields its port."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            await handler(head, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    async with listening:
        yield listening.sockets[0].getsockname()[1]


def target(port: int, scheme: str = "http", path: str = "/hooks") -> Target:
    # The name is one that resolves nowhere: only the checked address is used.
    return Target(scheme, HOST, port, path, "127.0.0.1")


def clients(timeout_s: float = 2.0, tls: ssl.SSLContext | None = None) -> TargetClients:
    return TargetClients(timeout_s=timeout_s, per_host_connections=2, tls=tls)


def test_a_redirect_is_a_failed_attempt_and_is_not_followed() -> None:
    followed: list[bytes] = []

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        if head.startswith(b"POST /elsewhere"):
            followed.append(head)
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")

    async def main() -> None:
        async with server(handler) as port:
            http = clients()
            response = await http.post(target(port), b"{}", {})
            await http.aclose()
        assert response.status_code == 302
        assert response.error == "HTTP 302"
        assert followed == []

    asyncio.run(main())


def test_the_response_read_is_capped() -> None:
    huge = b"x" * (MAX_RESPONSE_BYTES * 64)

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(huge) + huge)

    async def main() -> None:
        async with server(handler) as port:
            http = clients()
            response = await http.post(target(port), b"{}", {})
            await http.aclose()
        assert response.status_code == 200 and response.error == ""
        assert len(response.body_excerpt) == MAX_RESPONSE_BYTES

    asyncio.run(main())


def test_a_receiver_that_never_answers_times_out_at_the_deadline() -> None:
    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async def main() -> None:
        async with server(handler) as port:
            http = clients(timeout_s=0.5)
            started = time.monotonic()
            response = await http.post(target(port), b"{}", {})
            elapsed_s = time.monotonic() - started
            await http.aclose()
        assert response.status_code is None
        assert response.error == "timed out after 0.5s"
        assert elapsed_s < 2.0

    asyncio.run(main())


def test_the_request_goes_to_the_checked_address_and_names_the_host() -> None:
    heads: list[bytes] = []

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        heads.append(head)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")

    async def main() -> None:
        async with server(handler) as port:
            http = clients()
            response = await http.post(target(port, path="/hooks?a=%2F"), b"{}",
                                       {"X-Webhook-Id": "evt_1"})
            await http.aclose()
        assert response.status_code == 204, response.error
        request_line, *lines = heads[0].decode().split("\r\n")
        assert request_line == "POST /hooks?a=%2F HTTP/1.1"  # the path as given
        assert f"Host: {HOST}:{port}" in lines
        assert "X-Webhook-Id: evt_1" in lines

    asyncio.run(main())


def test_tls_sends_the_host_as_sni_and_checks_the_certificate_against_it() -> None:
    authority, server_tls = _tls_pair(HOST)
    seen_names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, context: seen_names.append(name)  # type: ignore[assignment,func-returns-value]

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    async def main() -> None:
        async with server(handler, tls=server_tls) as port:
            trusting = clients(tls=authority)
            good = await trusting.post(target(port, "https"), b"{}", {})
            await trusting.aclose()
            # The same server under another name: the certificate does not match.
            wrong = clients(tls=authority)
            other = Target("https", "other.example.test", port, "/hooks", "127.0.0.1")
            refused = await wrong.post(other, b"{}", {})
            await wrong.aclose()
        assert good.status_code == 200, good.error
        assert seen_names[0] == HOST
        assert refused.status_code is None
        assert "certificate" in refused.error.lower() or "hostname" in refused.error.lower()

    asyncio.run(main())


def _tls_pair(host: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A client context trusting a self-signed certificate for `host`, and
    the server context presenting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(pem)
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert_path, key_path)
    client_tls = ssl.create_default_context(cadata=pem.decode())
    return client_tls, server_tls
