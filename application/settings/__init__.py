"""Account settings: profile, sender IDs, templates and notification preferences."""
