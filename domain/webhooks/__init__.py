"""Webhooks: the event catalogue, signing and the retry policy."""
