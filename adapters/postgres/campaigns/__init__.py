"""Campaigns' own tables: recipient lists and execution runs."""
