"""Bluesky: the source, the XRPC client and session (xrpc), facets (richtext), record keys (tid)."""
