"""A message's callback URL, checked when the send is accepted: every SMS
entry point (the canonical API and the dialects) takes it the same way."""

from __future__ import annotations

from adapters.webhooks.ssrf import UrlGuard, UrlRefused
from application.errors import ValidationFailed


def checked_callback_url(webhook_guard: UrlGuard, url: str | None) -> str | None:
    """A message's callback_url, refused now if no address could fix it
    (http to a host not allowed, credentials, no host); its addresses are
    checked at each attempt, as an endpoint's are."""
    if url is None:
        return None
    try:
        webhook_guard.check_syntax(url)
    except UrlRefused as refused:
        raise ValidationFailed(f"callback_url: {refused}", callback_url=url) from None
    return url
