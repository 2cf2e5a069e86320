"""`/social`'s words: the subcommands, what each one's options mean, and the requests
they become. A subcommand is a parser in SUBCOMMANDS and an answer in
bot/commands/social.py's SocialCommand.answers: one function and one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.catalog import say
from bot.slack.blocks import cut
from bot.slack.escape import escape_mrkdwn
from bot.slack.render import Blocks

PERIODS: dict[str, timedelta | None] = {
    "today": None,  # since midnight UTC, see since_for
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
DEFAULT_PERIOD = "7d"
LIST_LIMIT = 20
NAME_LIMIT = 80  # characters of an author's name in a list line
ERROR_LIMIT = 300  # characters of a poll error
ECHO_LIMIT = 100  # characters of the person's own input quoted back


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    """What the command says: fallback text, Block Kit, and whether the channel sees it."""

    text: str
    blocks: Blocks = field(default_factory=list)
    public: bool = False


@dataclass(frozen=True, slots=True)
class StatsRequest:
    period: str = DEFAULT_PERIOD
    scope: str | None = None  # an account name or a network, as typed
    public: bool = False


@dataclass(frozen=True, slots=True)
class OpenRequest:
    mine: bool = False


@dataclass(frozen=True, slots=True)
class SourcesRequest:
    pass


@dataclass(frozen=True, slots=True)
class OverdueRequest:
    pass


@dataclass(frozen=True, slots=True)
class HelpRequest:
    problem: str | None = None  # a sentence saying what was wrong with the input, escaped


Request = StatsRequest | OpenRequest | SourcesRequest | OverdueRequest | HelpRequest

# word -> how the words after it become a request
Parser = Callable[[list[str], str], Request]


def parse(text: str, *, command: str = "/social") -> Request:
    """The request in the text after the command; anything unclear becomes help with a reason."""
    words = text.split()
    if not words:
        return HelpRequest()
    verb, rest = words[0].lower(), words[1:]
    parser = SUBCOMMANDS.get(verb)
    if parser is None:
        return HelpRequest(problem=say("command.unknown", text=echo(text)))
    return parser(rest, command)


def _without_options(verb: str, request: Request) -> Parser:
    def parse_it(words: list[str], command: str) -> Request:
        if words:
            return HelpRequest(
                problem=say(
                    "command.no_options",
                    command=command,
                    subcommand=verb,
                    text=echo(" ".join(words)),
                )
            )
        return request

    return parse_it


def _parse_stats(words: list[str], command: str) -> Request:
    period: str | None = None
    scope: str | None = None
    public = False
    for word in words:
        lowered = word.lower()
        if lowered in PERIODS:
            if period is not None:
                return HelpRequest(
                    problem=say("command.two_periods", first=period, second=echo(word))
                )
            period = lowered
        elif lowered == "public":
            public = True
        elif scope is not None:
            return HelpRequest(
                problem=say("command.two_scopes", first=echo(scope), second=echo(word))
            )
        else:
            scope = word
    return StatsRequest(period=period or DEFAULT_PERIOD, scope=scope, public=public)


SUBCOMMANDS: dict[str, Parser] = {
    "stats": _parse_stats,
    "open": _without_options("open", OpenRequest(mine=False)),
    "mine": _without_options("mine", OpenRequest(mine=True)),
    "sources": _without_options("sources", SourcesRequest()),
    "overdue": _without_options("overdue", OverdueRequest()),
    "help": _without_options("help", HelpRequest()),
}


def since_for(period: str, now: datetime) -> datetime | None:
    """Where a period starts; None for all time. "today" starts at 00:00 UTC."""
    if period == "today":
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = PERIODS[period]
    return None if span is None else now - span


def echo(text: str) -> str:
    """The person's own input, quoted back inside `code`: inert and short."""
    return cut(escape_mrkdwn(text.replace("`", "'")), ECHO_LIMIT)
