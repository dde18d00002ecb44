"""Experience issues: the lifecycle (pure), opening issues and keeping their counts exact, merges and
splits, transitions and the reactions they trigger elsewhere (listed in `app.wiring`), read queries."""
