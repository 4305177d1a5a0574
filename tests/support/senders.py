"""Live sends need an approved sender ID: tests approve theirs as an
operator would, through the application service."""

from __future__ import annotations

from adapters.bootstrap.container import Container

TEST_SENDER = "Acme"


def approve_sender(container: Container, account_id: str, sender_id: str = TEST_SENDER) -> None:
    request = container.sender_ids.request(account_id, sender_id)
    container.sender_ids.approve(request.id, operator=None)
