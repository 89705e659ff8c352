"""The year's PD report: what the monthly loop came to over a school year."""
