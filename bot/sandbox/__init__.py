"""Loopback fakes of Slack and the networks, speaking real HTTP, for end-to-end tests."""
