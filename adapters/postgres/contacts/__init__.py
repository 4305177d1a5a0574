"""The contact base's tables: contacts, labels, imports and opt-outs."""
