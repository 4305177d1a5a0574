"""Identity's tables: users, sessions, accounts, API keys and access tokens."""
