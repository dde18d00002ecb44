"""The transactional outbox: messages written in the caller's transaction, claimed by workers with a
lease, retried with backoff, parked as dead letters. Which handler serves which kind is the composition
root's (`app.wiring.HANDLERS`)."""
