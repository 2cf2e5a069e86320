"""`/social`: read the text after the command and answer it in Block Kit.

Nothing here talks to Slack: `SocialCommand` turns (text, user, channel) into a
`CommandAnswer`, and bot/handlers/commands.py acks and sends it. Every sentence comes from
bot/catalog.py; everything a stranger wrote (author names, handles, poll errors) and
everything the person typed passes through escape_mrkdwn or slack_link.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.catalog import duration, say
from bot.settings import AccountSettings
from bot.slack.blocks import HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT, cut
from bot.slack.escape import escape_mrkdwn, slack_link
from bot.slack.render import Blocks, network_name
from bot.stats import (
    OpenConversation,
    Stats,
    compute_stats,
    open_conversations,
    queued_jobs_by_account,
)
from bot.store import Store, outbox, utcnow
from bot.store import accounts as account_store

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
class HelpRequest:
    problem: str | None = None  # a sentence saying what was wrong with the input, escaped


Request = StatsRequest | OpenRequest | SourcesRequest | HelpRequest


def parse(text: str, *, command: str = "/social") -> Request:
    """The request in the text after the command; anything unclear becomes help with a reason."""
    words = text.split()
    if not words:
        return HelpRequest()
    verb, rest = words[0].lower(), words[1:]
    if verb == "stats":
        return _parse_stats(rest)
    simple: dict[str, Request] = {
        "open": OpenRequest(mine=False),
        "mine": OpenRequest(mine=True),
        "sources": SourcesRequest(),
        "help": HelpRequest(),
    }
    if verb not in simple:
        return HelpRequest(problem=say("command.unknown", text=_echo(text)))
    if rest:
        return HelpRequest(
            problem=say(
                "command.no_options", command=command, subcommand=verb, text=_echo(" ".join(rest))
            )
        )
    return simple[verb]


def _parse_stats(words: list[str]) -> Request:
    period: str | None = None
    scope: str | None = None
    public = False
    for word in words:
        lowered = word.lower()
        if lowered in PERIODS:
            if period is not None:
                return HelpRequest(
                    problem=say("command.two_periods", first=period, second=_echo(word))
                )
            period = lowered
        elif lowered == "public":
            public = True
        elif scope is not None:
            return HelpRequest(
                problem=say("command.two_scopes", first=_echo(scope), second=_echo(word))
            )
        else:
            scope = word
    return StatsRequest(period=period or DEFAULT_PERIOD, scope=scope, public=public)


def since_for(period: str, now: datetime) -> datetime | None:
    """Where a period starts; None for all time. "today" starts at 00:00 UTC."""
    if period == "today":
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = PERIODS[period]
    return None if span is None else now - span


def archive_permalink(channel: str, ts: str) -> str:
    """A link to a Slack message without a Web API call: the path chat.getPermalink returns
    (`/archives/<channel>/p<ts without the dot>`), on slack.com, which sends a signed-in
    person to their workspace."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


class SocialCommand:
    """Answers `/social ...`; call it with (text, user id, channel id)."""

    def __init__(
        self,
        store: Store,
        *,
        accounts: Sequence[AccountSettings],
        command: str = "/social",
        permalink: Callable[[str, str], str] = archive_permalink,
        user_name: Callable[[str], str] | None = None,
        member_channels: Callable[[str], Collection[str]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`user_name` (users.info, cached) shows people by name, so a public answer does not
        notify everyone it lists; without it people appear as <@U…> mentions.
        `member_channels` (bot/speakers.py) gives the mapped channels a person may see:
        nobody else gets an answer, and the lists keep to those channels."""
        self.store = store
        self.accounts = tuple(accounts)
        self.command = command
        self.permalink = permalink
        self.user_name = user_name
        self.member_channels = member_channels
        self.clock = clock

    def __call__(self, text: str, user_id: str, channel_id: str) -> CommandAnswer:
        visible = None if self.member_channels is None else self.member_channels(user_id)
        if visible is not None and not visible:
            refusal = say("command.not_a_member", command=self.command)
            return CommandAnswer(text=refusal, blocks=[_section(refusal)])
        request = parse(text, command=self.command)
        if isinstance(request, StatsRequest):
            return self.stats(request)
        if isinstance(request, OpenRequest):
            return self.open(mine_of=user_id if request.mine else None, channels=visible)
        if isinstance(request, SourcesRequest):
            return self.sources()
        return self.help(request.problem)

    # ---- help -------------------------------------------------------------------------

    def help(self, problem: str | None = None) -> CommandAnswer:
        guide = say("command.help", command=self.command)
        text = f"{problem}\n{guide}" if problem else guide
        blocks = [_section(problem)] if problem else []
        blocks.append(_section(guide))
        return CommandAnswer(text=text, blocks=blocks)

    # ---- stats ------------------------------------------------------------------------

    def stats(self, request: StatsRequest) -> CommandAnswer:
        account: str | None = None
        network: str | None = None
        scope_label: str | None = None
        if request.scope is not None:
            resolved = self._resolve_scope(request.scope)
            if resolved is None:
                return self.help(self._unknown_scope(request.scope))
            account, network, scope_label = resolved
        now = self.clock()
        stats = compute_stats(
            self.store,
            since=since_for(request.period, now),
            until=now,
            account=account,
            network=network,
        )
        period = say(f"stats.period.{request.period}")
        if scope_label is None:
            title = say("stats.title", period=period)
        else:
            title = say("stats.title_scoped", scope=scope_label, period=period)
        text = say(
            "stats.fallback",
            period=period,
            opened=stats.opened,
            replies=stats.replies,
            answered=_share(stats),
        )
        blocks = [_header(title), *self._stats_blocks(stats, now)]
        return CommandAnswer(text=text, blocks=blocks, public=request.public)

    def _resolve_scope(self, scope: str) -> tuple[str | None, str | None, str] | None:
        """(account, network, label) for what was typed, or None when nothing matches."""
        wanted = scope.lower()
        for configured in self.accounts:
            if configured.name.lower() == wanted:
                return configured.name, None, configured.name
        for configured in self.accounts:
            if wanted in (configured.network, network_name(configured.network).lower()):
                return None, configured.network, network_name(configured.network)
        return None

    def _unknown_scope(self, scope: str) -> str:
        names = ", ".join(f"`{escape_mrkdwn(a.name)}`" for a in self.accounts) or "–"
        networks = sorted({a.network for a in self.accounts})
        return say(
            "command.unknown_scope",
            scope=_echo(scope),
            accounts=names,
            networks=", ".join(f"`{n}`" for n in networks) or "–",
        )

    def _stats_blocks(self, stats: Stats, now: datetime) -> Blocks:
        nothing = say("stats.nothing")

        def seconds(value: int | None) -> str:
            return nothing if value is None else duration(value)

        oldest = (
            nothing
            if stats.oldest_unanswered is None
            else duration((now - stats.oldest_unanswered).total_seconds())
        )
        fields = [
            say("stats.opened", n=stats.opened),
            say("stats.inbound", n=stats.inbound),
            say("stats.replies", n=stats.replies),
            say(
                "stats.answered", share=_share(stats), answered=stats.answered, opened=stats.opened
            ),
            say(
                "stats.first_response",
                median=seconds(stats.first_response_median),
                p90=seconds(stats.first_response_p90),
            ),
            say("stats.close", median=seconds(stats.close_median), closed=stats.closed),
            say("stats.open_now", open=stats.open_now, unclaimed=stats.unclaimed_now),
            say("stats.oldest_unanswered", age=oldest),
        ]
        blocks: Blocks = [
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}
        ]
        if stats.per_account:
            lines = [
                say(
                    "stats.account_line",
                    account=escape_mrkdwn(a.account),
                    opened=a.opened,
                    replies=a.replies,
                )
                for a in stats.per_account
            ]
            blocks += _sections([say("stats.by_account"), *_capped(lines)])
        people = [
            say(
                "stats.person_line",
                person=self._person(p.user),
                replies=p.replies,
                claims=p.claims,
                closes=p.closes,
            )
            for p in stats.per_person[:LIST_LIMIT]
        ]
        if len(stats.per_person) > LIST_LIMIT:
            people.append(say("list.more", n=len(stats.per_person) - LIST_LIMIT))
        blocks += _sections([say("stats.by_person"), *(people or [say("stats.nobody")])])
        blocks.append(_context(say("stats.footnote", now=_when(now))))
        return blocks

    # ---- open / mine ------------------------------------------------------------------

    def open(
        self, *, mine_of: str | None, channels: Collection[str] | None = None
    ) -> CommandAnswer:
        """Open conversations, oldest first; `mine_of` keeps those claimed by that person,
        `channels` those of these Slack channels."""
        rows, total = open_conversations(
            self.store, assignee=mine_of, channels=channels, limit=LIST_LIMIT
        )
        which = "mine" if mine_of else "open"
        if total == 0:
            empty = say(f"list.empty_{which}")
            return CommandAnswer(text=empty, blocks=[_section(empty)])
        title = say(f"list.title_{which}", total=total)
        now = self.clock()
        lines = [self._open_line(row, now) for row in rows]
        if total > len(rows):
            lines.append(say("list.more", n=total - len(rows)))
        return CommandAnswer(text=title, blocks=[_header(title), *_sections(lines)])

    def _open_line(self, row: OpenConversation, now: datetime) -> str:
        name = row.author_name or row.author_handle
        label = f"{name} (@{row.author_handle})" if row.author_name else f"@{row.author_handle}"
        label = cut(label, NAME_LIMIT, mrkdwn=False)
        if row.thread_ts:
            link = slack_link(self.permalink(row.channel, row.thread_ts), label)
        else:
            link = escape_mrkdwn(label)
        who = (
            say("list.claimed_by", user=self._person(row.assignee))
            if row.assignee
            else say("list.unclaimed")
        )
        if row.answered:
            who += say("list.answered")
        return say(
            "list.line",
            link=link,
            network=network_name(row.network),
            age=duration((now - row.opened_at).total_seconds()),
            who=who,
        )

    # ---- sources ----------------------------------------------------------------------

    def sources(self) -> CommandAnswer:
        title = say("sources.title")
        if not self.accounts:
            none = say("sources.none")
            return CommandAnswer(text=none, blocks=[_header(title), _section(none)])
        states = {state.account: state for state in account_store.all_states(self.store)}
        with self.store.session() as session:
            by_kind = outbox.queue_depth(session)
        by_account = queued_jobs_by_account(self.store)
        now = self.clock()
        lines = []
        for account in self.accounts:
            state = states.get(account.name)
            failures = state.consecutive_failures if state else 0
            last_ok = state.last_ok_at if state else None
            if failures:
                icon = ":red_circle:"
            elif last_ok is None:
                icon = ":white_circle:"
            else:
                icon = ":large_green_circle:"
            line = say(
                "sources.line",
                icon=icon,
                account=escape_mrkdwn(account.name),
                network=network_name(account.network),
                last_ok=(
                    say("sources.ago", duration=duration((now - last_ok).total_seconds()))
                    if last_ok
                    else say("sources.never")
                ),
                queued=by_account.get(account.name, 0),
            )
            if failures and state is not None:
                error = cut(escape_mrkdwn(state.last_error or ""), ERROR_LIMIT)
                line += "\n" + say("sources.failing", failures=failures, error=error)
            lines.append(line)
        if by_kind:
            kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items()))
            queue = say("sources.queue", total=sum(by_kind.values()), by_kind=kinds)
        else:
            queue = say("sources.queue_empty")
        blocks = [_header(title), *_sections(lines), _context(queue)]
        return CommandAnswer(text=title + "\n" + "\n".join(lines), blocks=blocks)

    def _person(self, user_id: str) -> str:
        if self.user_name is None:
            return f"<@{escape_mrkdwn(user_id)}>"
        return escape_mrkdwn(self.user_name(user_id))


def _share(stats: Stats) -> str:
    share = stats.answered_share
    return say("stats.nothing") if share is None else f"{share:.0%}"


def _echo(text: str) -> str:
    """The person's own input, quoted back inside `code`: inert and short."""
    return cut(escape_mrkdwn(text.replace("`", "'")), ECHO_LIMIT)


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= LIST_LIMIT:
        return lines
    return [*lines[:LIST_LIMIT], say("list.more", n=len(lines) - LIST_LIMIT)]


def _when(moment: datetime) -> str:
    # https://api.slack.com/reference/surfaces/formatting#date-formatting: each reader sees
    # it in their own time zone; the fallback is UTC.
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": cut(text, HEADER_TEXT_LIMIT, mrkdwn=False),
        },
    }


def _section(text: str) -> dict[str, Any]:
    return {
        "type": "section",
        # verbatim: names and errors from the networks stay as written, no auto-links
        # (https://api.slack.com/reference/block-kit/composition-objects#text)
        "text": {"type": "mrkdwn", "text": cut(text, SECTION_TEXT_LIMIT), "verbatim": True},
    }


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def _sections(lines: list[str]) -> Blocks:
    """Lines packed into as few section blocks as Slack's 3,000-character limit allows."""
    blocks: Blocks = []
    chunk = ""
    for line in lines:
        candidate = f"{chunk}\n{line}" if chunk else line
        if chunk and len(candidate) > SECTION_TEXT_LIMIT:
            blocks.append(_section(chunk))
            chunk = line
        else:
            chunk = candidate
    if chunk:
        blocks.append(_section(chunk))
    return blocks
