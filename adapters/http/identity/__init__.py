"""Signing in: sessions, OAuth clients, Google sign-in and API keys."""
