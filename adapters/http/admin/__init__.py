"""Platform operators' endpoints: accounts, rate-card overrides, sender-ID review."""
