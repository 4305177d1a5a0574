"""What runs around every handler: authentication, request ids, rate limits,
idempotency keys, sandbox mode and client addresses."""
