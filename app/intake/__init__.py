"""Feedback in: the one ingest path every entry point uses (REST, batch, CSV import, survey webhooks,
customers' answers, the demo), in named phases; triage and corrections by people; idempotency keys."""
