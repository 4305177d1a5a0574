"""Signing a webhook request two ways at once.

1. The seed's headers: `X-Webhook-Id`, `X-Webhook-Timestamp` and
   `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`,
   keyed with the secret exactly as it was shown (the whole `whsec_...` text).
2. Standard Webhooks: `webhook-id`, `webhook-timestamp` and
   `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`,
   keyed with the base64-decoded part of the secret after `whsec_`, so that
   off-the-shelf verifiers accept it as they are.

While a rotated secret still signs (24 hours), each header carries one
signature per secret, newest first: Standard Webhooks separates them with a
space (its own rule); the seed's header with a comma. A receiver accepts the
request when any of them matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_KEY_BYTES = 32


def secret_from_key(key: bytes) -> str:
    assert len(key) == SECRET_KEY_BYTES
    return SECRET_PREFIX + base64.b64encode(key).decode()


def _standard_key(secret: str) -> bytes:
    assert secret.startswith(SECRET_PREFIX), "secrets are made by secret_from_key"
    return base64.b64decode(secret[len(SECRET_PREFIX):])


def seed_signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def standard_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(
    secrets: Sequence[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Both schemes' headers, signed with every secret in `secrets`."""
    assert secrets, "a webhook is always signed"
    return {
        "X-Webhook-Id": webhook_id,
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": ",".join(seed_signature(s, timestamp, body) for s in secrets),
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(s, webhook_id, timestamp, body) for s in secrets
        ),
    }
