"""Billing's own tables: processor customers, payments, invoices."""
