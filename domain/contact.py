"""A contact's fields and the rules they follow.

Contacts are configuration, not ledger: they live in ordinary tables. What is
pure about them lives here: the phone in E.164 (national numbers read with
the account's default country), the limits on every field, and the variables
a contact offers to a template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.errors import DomainError
from domain.messaging.phone import parse_phone

MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254
MAX_REFERENCE_LENGTH = 128
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_KEY_LENGTH = 64
MAX_CUSTOM_VALUE_LENGTH = 500
MAX_LABEL_LENGTH = 100  # group and tag names

# Deliberately loose: an address with one @ and a dot in its domain. Mail
# servers, not regular expressions, decide what is deliverable.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CUSTOM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

CustomValue = str | int | float | bool
# Built-in fields a template can name; a custom field of the same name is
# shadowed by them.
BUILT_IN_VARIABLES = ("phone", "first_name", "last_name", "name", "email", "reference")


class InvalidContact(DomainError):
    code = "VALIDATION_ERROR"


@dataclass(frozen=True, slots=True)
class ContactFields:
    """A contact's fields, checked and normalised."""

    phone: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    reference: str | None = None
    custom_fields: Mapping[str, CustomValue] = field(default_factory=dict)


def normalise_phone(phone: str, default_country: str | None) -> str:
    """The number in E.164; raises InvalidPhoneNumber."""
    return parse_phone(phone.strip(), default_country).e164


def clean_text(value: str | None, name: str, max_length: int) -> str | None:
    """Stripped text, None when empty; InvalidContact when too long."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if "\x00" in text:  # no PostgreSQL text can hold it
        raise InvalidContact(f"{name} cannot contain a NUL character", field=name)
    if len(text) > max_length:
        raise InvalidContact(f"{name} is at most {max_length} characters", field=name)
    return text


def clean_email(value: str | None) -> str | None:
    email = clean_text(value, "email", MAX_EMAIL_LENGTH)
    if email is not None and not _EMAIL.match(email):
        raise InvalidContact("email is not an email address", field="email")
    return email


def clean_custom_fields(values: Mapping[str, object]) -> dict[str, CustomValue]:
    if len(values) > MAX_CUSTOM_FIELDS:
        raise InvalidContact(
            f"A contact has at most {MAX_CUSTOM_FIELDS} custom fields", field="custom_fields"
        )
    cleaned: dict[str, CustomValue] = {}
    for key, value in values.items():
        if not (len(key) <= MAX_CUSTOM_KEY_LENGTH and _CUSTOM_KEY.match(key)):
            raise InvalidContact(
                "A custom field is named with letters, digits and _ (at most "
                f"{MAX_CUSTOM_KEY_LENGTH}), not starting with a digit",
                field=key,
            )
        if not isinstance(value, str | int | float | bool):
            raise InvalidContact("A custom field is a string, number or boolean", field=key)
        if isinstance(value, str) and "\x00" in value:
            raise InvalidContact("A custom field cannot contain a NUL character", field=key)
        if isinstance(value, str) and len(value) > MAX_CUSTOM_VALUE_LENGTH:
            raise InvalidContact(
                f"A custom field is at most {MAX_CUSTOM_VALUE_LENGTH} characters", field=key
            )
        cleaned[key] = value
    return cleaned


def contact_fields(
    *,
    phone: str,
    default_country: str | None,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    reference: str | None = None,
    custom_fields: Mapping[str, object] | None = None,
) -> ContactFields:
    """Every field checked; raises a DomainError naming the first bad one."""
    return ContactFields(
        phone=normalise_phone(phone, default_country),
        first_name=clean_text(first_name, "first_name", MAX_NAME_LENGTH),
        last_name=clean_text(last_name, "last_name", MAX_NAME_LENGTH),
        email=clean_email(email),
        reference=clean_text(reference, "reference", MAX_REFERENCE_LENGTH),
        custom_fields=clean_custom_fields(custom_fields or {}),
    )


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """"Alice van Dyke" -> ("Alice", "van Dyke"): the CSV's one name column."""
    if name is None or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first, (last.strip() or None)


def clean_label(name: str, what: str) -> str:
    text = clean_text(name, "name", MAX_LABEL_LENGTH)
    if text is None:
        raise InvalidContact(f"A {what} needs a name", field="name")
    return text


def template_variables(
    *,
    phone: str,
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    reference: str | None,
    custom_fields: Mapping[str, object],
) -> dict[str, object]:
    """What a contact offers a template: its custom fields, then the built-in
    fields over them. A field the contact lacks is absent, so a template
    that names it rejects that recipient rather than printing a blank."""
    variables: dict[str, object] = dict(custom_fields)
    full_name = " ".join(part for part in (first_name, last_name) if part) or None
    for key, value in (
        ("phone", phone), ("first_name", first_name), ("last_name", last_name),
        ("name", full_name), ("email", email), ("reference", reference),
    ):
        if value is not None:
            variables[key] = value
        else:
            variables.pop(key, None)
    return variables
