"""The digest: the month's answers read, tagged by topic, dated and planned into sessions."""
