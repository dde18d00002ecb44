"""Connections to the tools teams work in: the integration rows, their encrypted credentials, and the
factory that turns one into a vendor adapter from `integrations/`. Sync and the loop both use them."""
