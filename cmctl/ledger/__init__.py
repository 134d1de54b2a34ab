"""The ledger: what was sent, when, where; the source of truth for publishing."""
