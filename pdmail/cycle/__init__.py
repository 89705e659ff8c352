"""The cycle: its dates, its sending steps, delivery under the ledger, and the daily tick."""
