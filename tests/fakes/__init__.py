"""Loopback stand-ins for vendor APIs (Jira, Zendesk), validated against the vendors' OpenAPI files.

Use the pytest fixtures in `tests.fakes.fixtures` (`jira_fake`, `zendesk_fake`, `webhook_receiver`),
or `tests.fakes.server.serving(JiraStandIn())` as a context manager outside pytest.
"""
