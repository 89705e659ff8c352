"""What pdmail keeps between runs: the ledger of sent mail, the needs, the run lock."""
