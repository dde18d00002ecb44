"""Weekly digests: what they say (model), how they look (render + templates), the email (mime)."""
