"""Saved message templates: a name unique in its account and a body with
`{{variable}}` placeholders, whose names are extracted when it is saved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID, uuid4

from application.errors import NotFound, ValidationFailed, check_text
from domain.messaging.templates import Template

MAX_TEMPLATES_PER_ACCOUNT = 1_000
MAX_NAME_LENGTH = 100
# The send endpoint's own limit on a body, so that any saved template can be sent.
MAX_CONTENT_LENGTH = 10_000
MAX_VARIABLES = 100


@dataclass(frozen=True, slots=True)
class SavedTemplate:
    id: UUID
    account_id: str
    name: str
    content: str
    variables: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


class TemplateStore(Protocol):
    def add(self, template: SavedTemplate, *, limit: int) -> None:
        """Conflict on a name the account already uses; ValidationFailed past `limit`."""
        ...

    def get(self, account_id: str, template_id: UUID) -> SavedTemplate | None:
        """The account's template, or None (also for another account's)."""
        ...

    def replace(self, template: SavedTemplate) -> bool:
        """Save new name, content and variables; False if it no longer exists.
        Conflict on a name the account already uses for another template."""
        ...

    def delete(self, account_id: str, template_id: UUID) -> bool: ...

    def page(
        self, account_id: str, page_size: int, cursor: str | None
    ) -> tuple[list[SavedTemplate], str | None, bool, int]: ...


class TemplateService:
    def __init__(
        self, store: TemplateStore, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._now = now

    def create(self, account_id: str, name: str, content: str) -> SavedTemplate:
        now = self._now()
        template = SavedTemplate(
            id=uuid4(), account_id=account_id, name=_checked_name(name), content=content,
            variables=_variables(content), created_at=now, updated_at=now,
        )
        self._store.add(template, limit=MAX_TEMPLATES_PER_ACCOUNT)
        return template

    def get(self, account_id: str, template_id: UUID) -> SavedTemplate:
        template = self._store.get(account_id, template_id)
        if template is None:
            raise NotFound("No such template", template_id=str(template_id))
        return template

    def update(
        self, account_id: str, template_id: UUID, *, name: str | None, content: str | None
    ) -> SavedTemplate:
        current = self.get(account_id, template_id)
        new_content = current.content if content is None else content
        updated = SavedTemplate(
            id=current.id, account_id=account_id,
            name=current.name if name is None else _checked_name(name),
            content=new_content, variables=_variables(new_content),
            created_at=current.created_at, updated_at=self._now(),
        )
        if not self._store.replace(updated):
            raise NotFound("No such template", template_id=str(template_id))
        return updated

    def delete(self, account_id: str, template_id: UUID) -> None:
        if not self._store.delete(account_id, template_id):
            raise NotFound("No such template", template_id=str(template_id))

    def page(
        self, account_id: str, page_size: int, cursor: str | None
    ) -> tuple[list[SavedTemplate], str | None, bool, int]:
        return self._store.page(account_id, page_size, cursor)


def _checked_name(name: str) -> str:
    stripped = check_text(name, "name").strip()
    if not 1 <= len(stripped) <= MAX_NAME_LENGTH:
        raise ValidationFailed(f"A template name is 1 to {MAX_NAME_LENGTH} characters")
    return stripped


def _variables(content: str) -> tuple[str, ...]:
    check_text(content, "content")
    if not content.strip():
        raise ValidationFailed("A template's content cannot be empty")
    if len(content) > MAX_CONTENT_LENGTH:
        raise ValidationFailed(f"A template is at most {MAX_CONTENT_LENGTH} characters")
    names = Template.parse(content).variable_names
    if len(names) > MAX_VARIABLES:
        raise ValidationFailed(f"A template has at most {MAX_VARIABLES} variables")
    return tuple(names)
