"""Message templates with `{{variable}}` placeholders.

A bulk send renders one template for every recipient, so a template is parsed
once into a list of parts in which literals are already in place; rendering
copies that list, fills the placeholder slots and joins it in one C call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from domain.errors import MissingTemplateVariable

_PLACEHOLDER: Final = re.compile(r"\{\{[ \t]*([A-Za-z_][A-Za-z0-9_.]*)[ \t]*\}\}")


class Template:
    """A parsed template; build it with `Template.parse`."""

    __slots__ = ("_parts", "_slots", "body", "placeholders")

    body: str
    placeholders: frozenset[str]
    _parts: list[str]  # literals, with "" where each placeholder goes
    _slots: tuple[tuple[int, str], ...]  # (index into _parts, placeholder name)

    def __init__(self, body: str, parts: list[str], slots: tuple[tuple[int, str], ...]) -> None:
        self.body = body
        self.placeholders = frozenset(name for _, name in slots)
        self._parts = parts
        self._slots = slots

    @classmethod
    def parse(cls, body: str) -> Template:
        parts: list[str] = []
        slots: list[tuple[int, str]] = []
        literal_start = 0
        for match in _PLACEHOLDER.finditer(body):
            if match.start() > literal_start:
                parts.append(body[literal_start : match.start()])
            slots.append((len(parts), match.group(1)))
            parts.append("")
            literal_start = match.end()
        if literal_start < len(body):
            parts.append(body[literal_start:])
        return cls(body, parts, tuple(slots))

    def render(self, variables: Mapping[str, object]) -> str:
        """Substitute `str(value)` for every placeholder.

        Raises MissingTemplateVariable naming every absent placeholder at once,
        so a caller can fix its data in one round trip.
        """
        if not self._slots:
            return self.body
        parts = self._parts.copy()
        try:
            for index, name in self._slots:
                parts[index] = str(variables[name])
        except KeyError:
            missing = sorted(name for name in self.placeholders if name not in variables)
            if not missing:
                raise  # the mapping itself failed, not the caller's data
            raise MissingTemplateVariable(
                f"template variables missing: {', '.join(missing)}", missing=missing
            ) from None
        return "".join(parts)

    @property
    def variable_names(self) -> list[str]:
        """The placeholders' names, each once, in order of first appearance."""
        return list(dict.fromkeys(name for _, name in self._slots))

    def __repr__(self) -> str:
        return f"Template.parse({self.body!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.body == self.body

    def __hash__(self) -> int:
        return hash(self.body)
