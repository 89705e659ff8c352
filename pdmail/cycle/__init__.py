"""A cycle run: the messages it renders, its sending steps, delivery under the ledger, the
digest step and the daily tick."""
