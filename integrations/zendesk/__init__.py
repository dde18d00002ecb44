"""Zendesk Support adapter."""

from integrations.zendesk.adapter import ZendeskConfig, ZendeskTracker

__all__ = ["ZendeskConfig", "ZendeskTracker"]
