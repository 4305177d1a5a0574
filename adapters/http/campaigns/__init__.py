"""Campaigns over HTTP: create, fill, review, run, and read progress."""
