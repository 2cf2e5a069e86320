"""Mastodon: mentions from the notifications API (source), statuses' HTML made Slack text (html)."""
