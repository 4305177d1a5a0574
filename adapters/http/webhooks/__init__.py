"""Webhook endpoints over HTTP: register, list, test, and read deliveries."""
