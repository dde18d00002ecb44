"""Jira Cloud (REST v3) adapter."""

from integrations.jira.adapter import JiraConfig, JiraTracker

__all__ = ["JiraConfig", "JiraTracker"]
