"""People of the journey: one-time sign-in links, browser sessions, roles, and the audit trail."""
