"""X: the source, OAuth 2.0 tokens (auth), the mentions cursor (cursor), and twitter-text's
weighted length (text, entities)."""
