"""SMPP carriers from configuration: one URL per bind.

    smpp://SYSTEM_ID:PASSWORD@HOST:PORT/NAME?window_size=10&system_type=VMA

NAME is the carrier name that routes refer to. Query parameters set any
numeric or text field of SmppConfig.
"""

from __future__ import annotations

from dataclasses import fields
from urllib.parse import parse_qsl, unquote, urlsplit

from adapters.carriers.smpp.config import SmppConfig

_CONFIG_FIELDS = {f.name: f.type for f in fields(SmppConfig)}
_FIXED = {"name", "host", "port", "system_id", "password"}


def parse_smpp_urls(text: str) -> list[SmppConfig]:
    """Comma-separated URLs; ValueError naming the bad one."""
    configs = []
    for url in filter(None, (part.strip() for part in text.split(","))):
        try:
            configs.append(_parse_one(url))
        except ValueError as error:
            redacted = url.split("@")[-1]
            raise ValueError(f"bad SMPP carrier URL (…@{redacted}): {error}") from None
    names = [c.name for c in configs]
    if len(names) != len(set(names)):
        raise ValueError("two SMPP carriers share a name")
    return configs


def _parse_one(url: str) -> SmppConfig:
    parts = urlsplit(url)
    if parts.scheme != "smpp" or not parts.hostname or not parts.port:
        raise ValueError("expected smpp://SYSTEM_ID:PASSWORD@HOST:PORT/NAME")
    name = parts.path.strip("/")
    if not name:
        raise ValueError("the carrier name (the URL's path) is missing")
    options: dict[str, object] = {}
    for key, value in parse_qsl(parts.query, strict_parsing=False):
        if key in _FIXED or key not in _CONFIG_FIELDS:
            raise ValueError(f"unknown option {key!r}")
        kind = str(_CONFIG_FIELDS[key])
        options[key] = int(value) if kind == "int" else float(value) if "float" in kind else value
    return SmppConfig(
        name=name,
        host=parts.hostname,
        port=parts.port,
        system_id=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        **options,  # type: ignore[arg-type]
    )
