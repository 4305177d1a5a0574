"""Delivery: dispatching to carriers, routing, receipts, outcomes and inbound."""
