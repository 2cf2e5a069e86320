"""`/social`'s answers: SocialCommand turns (text, user, channel) into a CommandAnswer.

Nothing here talks to Slack: bot/handlers/commands.py acks and sends the answer. Every
sentence comes from bot/catalog.py; everything a stranger wrote (author names, handles,
poll errors) and everything the person typed passes through escape_mrkdwn or slack_link.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.catalog import duration, say
from bot.commands.blocks import capped, header, section, sections
from bot.commands.requests import (
    ERROR_LIMIT,
    LIST_LIMIT,
    NAME_LIMIT,
    CommandAnswer,
    HelpRequest,
    OpenRequest,
    OverdueRequest,
    Request,
    SourcesRequest,
    StatsRequest,
    echo,
    parse,
    since_for,
)
from bot.settings import AccountSettings, SlaSettings
from bot.sla.attainment import Attainment
from bot.slack.blocks import cut
from bot.slack.escape import escape_mrkdwn, slack_link
from bot.slack.render import Blocks, archive_permalink, context_block, network_name, when
from bot.stats import Stats, compute_stats
from bot.store import Store, outbox, utcnow
from bot.store import accounts as account_store
from bot.store.waiting import OpenConversation, open_conversations, queued_jobs_by_account

# (the request, who asked, the channels they may see or None for all) -> the answer
Answer = Callable[[Any, str, Collection[str] | None], CommandAnswer]


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
        sla: Mapping[str, SlaSettings] | None = None,
        threads_watched: Callable[[AccountSettings], int | None] | None = None,
    ) -> None:
        """`user_name` (users.info, cached) shows people by name, so a public answer does not
        notify everyone it lists; without it people appear as <@U…> mentions.
        `member_channels` (bot/speakers.py) gives the mapped channels a person may see:
        nobody else gets an answer, and the lists keep to those channels.
        `threads_watched` (bot/scheduler.py) counts an account's watched threads; None for a
        network that stays on its notifications."""
        self.store = store
        self.accounts = tuple(accounts)
        self.command = command
        self.permalink = permalink
        self.user_name = user_name
        self.member_channels = member_channels
        self.clock = clock
        self.sla = dict(sla or {})  # the response clock's targets by account
        self.threads_watched = threads_watched

    def __call__(self, text: str, user_id: str, channel_id: str) -> CommandAnswer:
        visible = None if self.member_channels is None else self.member_channels(user_id)
        if visible is not None and not visible:
            refusal = say("command.not_a_member", command=self.command)
            return CommandAnswer(text=refusal, blocks=[section(refusal)])
        request = parse(text, command=self.command)
        return self.answers[type(request)](request, user_id, visible)

    @property
    def answers(self) -> dict[type[Request], Answer]:
        """Each request's answer: the second half of a subcommand (see SUBCOMMANDS)."""
        return {
            StatsRequest: lambda request, _user, _visible: self.stats(request),
            OpenRequest: lambda request, user, visible: self.open(
                mine_of=user if request.mine else None, channels=visible
            ),
            SourcesRequest: lambda _request, _user, _visible: self.sources(),
            OverdueRequest: lambda _request, _user, visible: self.overdue(channels=visible),
            HelpRequest: lambda request, _user, _visible: self.help(request.problem),
        }

    # ---- help -------------------------------------------------------------------------

    def help(self, problem: str | None = None) -> CommandAnswer:
        guide = say("command.help", command=self.command)
        text = f"{problem}\n{guide}" if problem else guide
        blocks = [section(problem)] if problem else []
        blocks.append(section(guide))
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
        blocks = [header(title), *self._stats_blocks(stats, now)]
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
            scope=echo(scope),
            accounts=names,
            networks=", ".join(f"`{n}`" for n in networks) or "–",
        )

    def _stats_blocks(self, stats: Stats, now: datetime) -> Blocks:
        fields = _figure_fields(stats, now)
        clock = stats.attainment
        if clock is not None:
            fields += _clock_fields(clock)
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
            blocks += sections([say("stats.by_account"), *capped(lines)])
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
        blocks += sections([say("stats.by_person"), *(people or [say("stats.nobody")])])
        if clock is not None and clock.per_person:
            lines = [
                say("stats.person_target_line", person=self._person(p.user), attained=attained)
                for p in clock.per_person
                for attained in [_attained(p.within, p.late)]
            ]
            blocks += sections([say("stats.by_person_target"), *capped(lines)])
        blocks.append(context_block(say("stats.footnote", now=when(now))))
        return blocks

    # ---- open / mine ------------------------------------------------------------------

    def open(
        self, *, mine_of: str | None, channels: Collection[str] | None = None
    ) -> CommandAnswer:
        """Open conversations, soonest due first, then oldest first; `mine_of` keeps those
        claimed by that person, `channels` those of these Slack channels."""
        rows, total = open_conversations(
            self.store, assignee=mine_of, channels=channels, limit=LIST_LIMIT
        )
        which = "mine" if mine_of else "open"
        if total == 0:
            empty = say(f"list.empty_{which}")
            return CommandAnswer(text=empty, blocks=[section(empty)])
        title = say(f"list.title_{which}", total=total)
        now = self.clock()
        lines = [self._open_line(row, now) for row in rows]
        if total > len(rows):
            lines.append(say("list.more", n=total - len(rows)))
        return CommandAnswer(text=title, blocks=[header(title), *sections(lines)])

    def overdue(self, *, channels: Collection[str] | None = None) -> CommandAnswer:
        """Open conversations past their due time, most overdue first (the running clocks
        recorded with their due times, bot/store/waiting.py)."""
        if not self.sla:
            none = say("list.no_clock")
            return CommandAnswer(text=none, blocks=[section(none)])
        now = self.clock()
        late, total = open_conversations(
            self.store, assignee=None, channels=channels, limit=LIST_LIMIT, overdue_at=now
        )
        if not late:
            empty = say("list.empty_overdue")
            return CommandAnswer(text=empty, blocks=[section(empty)])
        title = say("list.title_overdue", total=total)
        lines = [self._open_line(row, now) for row in late]
        if total > len(late):
            lines.append(say("list.more", n=total - len(late)))
        return CommandAnswer(text=title, blocks=[header(title), *sections(lines)])

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
        if row.due is not None and row.due < now:
            who += say("list.overdue_by", duration=duration((now - row.due).total_seconds()))
        elif row.due is not None:
            who += say("list.due_in", duration=duration((row.due - now).total_seconds()))
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
            return CommandAnswer(text=none, blocks=[header(title), section(none)])
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
            watching = self.threads_watched(account) if self.threads_watched else None
            if watching is not None:
                line += ", " + say("sources.watched", count=watching)
            if failures and state is not None:
                error = cut(escape_mrkdwn(state.last_error or ""), ERROR_LIMIT)
                line += "\n" + say("sources.failing", failures=failures, error=error)
            lines.append(line)
        if by_kind:
            kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items()))
            queue = say("sources.queue", total=sum(by_kind.values()), by_kind=kinds)
        else:
            queue = say("sources.queue_empty")
        blocks = [header(title), *sections(lines), context_block(queue)]
        return CommandAnswer(text=title + "\n" + "\n".join(lines), blocks=blocks)

    def _person(self, user_id: str) -> str:
        if self.user_name is None:
            return f"<@{escape_mrkdwn(user_id)}>"
        return escape_mrkdwn(self.user_name(user_id))


def _share(stats: Stats) -> str:
    share = stats.answered_share
    return say("stats.nothing") if share is None else f"{share:.0%}"


def _figure_fields(stats: Stats, now: datetime) -> list[str]:
    nothing = say("stats.nothing")

    def seconds(value: int | None) -> str:
        return nothing if value is None else duration(value)

    oldest = (
        nothing
        if stats.oldest_unanswered is None
        else duration((now - stats.oldest_unanswered).total_seconds())
    )

    return [
        say("stats.opened", n=stats.opened),
        say("stats.inbound", n=stats.inbound),
        say("stats.replies", n=stats.replies),
        say("stats.answered", share=_share(stats), answered=stats.answered, opened=stats.opened),
        say(
            "stats.first_response",
            median=seconds(stats.first_response_median),
            p90=seconds(stats.first_response_p90),
        ),
        say("stats.close", median=seconds(stats.close_median), closed=stats.closed),
        say("stats.open_now", open=stats.open_now, unclaimed=stats.unclaimed_now),
        say("stats.oldest_unanswered", age=oldest),
    ]


def _clock_fields(clock: Attainment) -> list[str]:
    return [
        say(
            "stats.within_target",
            first=_attained(clock.first_within, clock.first_breached),
            next=_attained(clock.next_within, clock.next_breached),
        ),
        say("stats.breaches", n=clock.breaches),
    ]


def _attained(within: int, late: int) -> str:
    share = Attainment.share(within, late)
    if share is None:
        return say("stats.nothing")
    return say("stats.attained", share=f"{share:.0%}", within=within, decided=within + late)
