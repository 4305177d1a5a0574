"""Account settings over HTTP: profile, sender IDs, templates, notification
preferences and the sandbox."""
