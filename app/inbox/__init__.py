"""Inbound deliveries (signed webhooks), stored once per vendor delivery id and processed through the
outbox; quarantine and replay."""
