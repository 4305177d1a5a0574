"""Callbacks from HTTP carriers: delivery receipts and inbound messages."""
