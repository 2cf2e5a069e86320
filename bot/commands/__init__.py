"""`/social`: the subcommands (requests.py: words to requests), their answers (social.py)
and the blocks they are written in (blocks.py)."""

from bot.commands.requests import (
    LIST_LIMIT,
    CommandAnswer,
    HelpRequest,
    OpenRequest,
    Request,
    SourcesRequest,
    StatsRequest,
    parse,
    since_for,
)
from bot.commands.social import SocialCommand

__all__ = [
    "LIST_LIMIT",
    "CommandAnswer",
    "HelpRequest",
    "OpenRequest",
    "Request",
    "SocialCommand",
    "SourcesRequest",
    "StatsRequest",
    "parse",
    "since_for",
]
