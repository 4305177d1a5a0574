"""The ledger: wallets, the group-committing ledger app, verification and the journal."""
