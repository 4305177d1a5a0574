"""Account settings' tables: profile rows, sender IDs, templates, surface settings."""
