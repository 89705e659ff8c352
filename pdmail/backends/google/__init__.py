"""Google: Gmail for mail, Sheets for the roster and responses, and their sign-in."""
