"""Campaigns: commands, execution in chunks, and completing bulk batches."""
