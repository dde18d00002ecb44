"""Jira and Zendesk: each team's contribution to an issue as a ticket in its tool, status kept in step
both ways (signed webhooks, reconciliation), reopens and confirmations sent back to the tickets."""
