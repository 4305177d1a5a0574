"""Billing: card top-ups, the processor's notifications, auto top-up and invoices."""
