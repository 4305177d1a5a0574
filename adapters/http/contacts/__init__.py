"""The contact base over HTTP: contacts, groups, imports and opt-outs."""
