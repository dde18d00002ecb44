"""Where an item belongs: placement (touchpoint, rules, the learned model, triage; pure), the learned
stage model and its store, the live grouping index kept in step with the database, moment-of-truth
triggers, and the pure grouping engine (encoder, praise, long texts, thresholds, consolidation, titles)."""
