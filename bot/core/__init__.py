"""The use cases, apart from Slack and HTTP: they talk to the store and to small ports."""
