"""Sending: accept one message or a batch, resolve senders and templates,
estimate prices, resolve audiences, and the sandbox."""
