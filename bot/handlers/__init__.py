"""Thin Bolt listeners: translate a Slack payload into a bridge call. No rules here."""
