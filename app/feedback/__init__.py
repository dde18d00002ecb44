"""Feedback items: their table, read queries (`queries`) and the only writer of their rows (`store`),
used by intake, merges and source revisions. It knows nothing of issues' counters or of routing."""
