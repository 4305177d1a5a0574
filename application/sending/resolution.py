"""What a send request names, resolved before the send: the sender ID must be
one the account may use, and a `template_id` stands for the saved body."""

from __future__ import annotations

from uuid import UUID

from application.errors import ValidationFailed
from application.settings.sender_ids import SenderIdService
from application.settings.templates import TemplateService


class SendResolver:
    def __init__(self, senders: SenderIdService, templates: TemplateService) -> None:
        self._senders = senders
        self._templates = templates

    def resolve(
        self, account_id: str, *, sender: str, body: str | None, template_id: UUID | None,
        sandbox: bool,
    ) -> str:
        """The body to send; raises INVALID_SENDER_ID, NOT_FOUND for a template
        the account does not have, or VALIDATION_ERROR for neither or both of
        `body` and `template_id`."""
        self._senders.check(account_id, sender, sandbox=sandbox)
        if template_id is None:
            if body is None:
                raise ValidationFailed("Send a body or a template_id")
            return body
        if body is not None:
            raise ValidationFailed("Send a body or a template_id, not both")
        return self._templates.get(account_id, template_id).content
