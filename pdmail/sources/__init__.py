"""Where the month's inputs come from: the roster and the responses, read from tables."""
