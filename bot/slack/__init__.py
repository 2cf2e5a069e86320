"""Slack: the Web API port, Block Kit rendering, escaping and mrkdwn conversion."""
