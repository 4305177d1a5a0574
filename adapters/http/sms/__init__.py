"""Sending SMS over HTTP: one message, many recipients, or an audience."""
