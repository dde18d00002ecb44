"""Everything Seam says to people: rendering (one autoescaping Jinja environment for every
message), queuing (an outbox row per message, in the caller's transaction) and delivery (the outbox
handler that hands a built message to a channel in `integrations/`). Domains produce messages and
never send them."""
