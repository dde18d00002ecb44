"""API keys for machines: made once, shown once, stored as a hash; scopes; the request dependency
that checks them."""
