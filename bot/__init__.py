"""socialbridge: public social-media mentions as Slack threads, Slack replies back out."""

__version__ = "0.1.0"
