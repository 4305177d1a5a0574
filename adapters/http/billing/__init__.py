"""Money over HTTP: balance, checkout, invoices, usage exports, and the payment
processor's webhook."""
