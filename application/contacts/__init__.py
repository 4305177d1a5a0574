"""The contact base: contacts, groups, tags, opt-outs and CSV imports."""
