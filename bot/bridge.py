"""The use cases: take in posts from a network, take in replies from Slack.

No Slack or HTTP here: the bridge talks to the store and to small ports. Every fact is
stored in one transaction with the jobs it causes; the delivery worker does the talking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session

from bot import targets, triage
from bot.core.ingest import queue_card_update, store_posts
from bot.core.replies import is_internal_note, outgoing_text, queue_notice, queue_reply
from bot.domain import FetchResult, ReplyTarget
from bot.jobkinds import (
    HELD_EVENT,
    SEND_REPLY,
    held_key,
)
from bot.ports import SlackPort
from bot.settings import Settings
from bot.sla import timers
from bot.sources import Source
from bot.speakers import SpeakerPolicy
from bot.store import AccountState, Conversation, Message, Store, outbox, queries, utcnow
from bot.textlength import refusal_key

logger = logging.getLogger(__name__)


class ReplyOutcome(StrEnum):
    NOT_A_CONVERSATION = "not_a_conversation"
    INTERNAL = "internal"
    DUPLICATE = "duplicate"
    QUEUED = "queued"
    REFUSED = "refused"
    HELD = "held"  # its card is not recorded yet: replayed once it is


class _Held:
    """find_card's answer for an event it stored to replay later."""

    def __repr__(self) -> str:
        return "HELD"


HELD = _Held()


@dataclass(frozen=True, slots=True)
class SlackReply:
    """A human's message in a conversation thread, as the handler read it from the event."""

    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str  # Slack mrkdwn, as in the event
    user_team: str = ""  # the event's user_team: another workspace's for Slack Connect


class Bridge:
    def __init__(
        self,
        store: Store,
        *,
        settings: Settings,
        sources: Mapping[str, Source],
        slack: SlackPort,
        channels: Mapping[str, str],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sources = sources
        self.slack = slack
        self.channels = channels  # account name -> Slack channel id
        self.wake = wake
        # The response clock's targets by account; accounts without one are not timed.
        self.sla = {a.name: a.sla for a in settings.accounts if a.sla is not None}

    # ---- inbound ----------------------------------------------------------------------

    def ingest(self, account: str, result: FetchResult) -> int:
        """Store fetched posts and advance the cursor in one transaction; returns how many
        were new. A post already stored (unique on account + remote id) is skipped."""
        with self.store.session() as session:
            new = store_posts(
                session,
                account=account,
                network=self.sources[account].network,
                channel=self.channels[account],
                posts=result.posts,
                sla=self.sla.get(account),
            )
            state = session.get(AccountState, account) or AccountState(account=account)
            if result.cursor is not None:
                state.cursor = result.cursor
            state.last_poll_at = state.last_ok_at = utcnow()
            state.last_error = None
            state.consecutive_failures = 0
            state.next_poll_at = None
            session.add(state)
        if new:
            self.wake()
        return new

    def request_card_update(self, session: Session, conversation: Conversation) -> None:
        queue_card_update(session, conversation)

    # ---- claim and close --------------------------------------------------------------

    def on_reaction(self, *, channel: str, ts: str, user: str, name: str, added: bool) -> bool:
        """A reaction on a card claims or closes (removing it undoes); reactions on other
        messages and reactions by bots change nothing."""
        slack = self.settings.slack
        if name in slack.claim_reactions:
            change = triage.Change.CLAIM if added else triage.Change.UNCLAIM
        elif name in slack.close_reactions:
            change = triage.Change.CLOSE if added else triage.Change.REOPEN
        else:
            return False
        if self.slack.is_bot(user):
            return False
        return self.change_status(
            channel=channel, ts=ts, user=user, change=change, only_own_claim=not added
        )

    def change_status(
        self,
        *,
        channel: str,
        ts: str,
        user: str,
        change: triage.Change,
        only_own_claim: bool = False,
        hold: bool = True,
    ) -> bool:
        """Claim, unclaim, close or reopen the conversation whose card is at (channel, ts)."""
        early = {
            "kind": "status",
            "channel": channel,
            "ts": ts,
            "user": user,
            "change": change.value,
            "only_own_claim": only_own_claim,
        }
        if self.find_card(channel, ts, early=early if hold else None) is None:
            return False
        with self.store.session() as session:
            conversation = queries.conversation_by_card(session, channel, ts)
            if conversation is None:
                return False
            if not triage.apply(
                change, conversation, user=user, now=utcnow(), only_own_claim=only_own_claim
            ):
                return False
            session.add(conversation)
            if change in (triage.Change.CLOSE, triage.Change.REOPEN):
                self.clock_moved(session, conversation)
            self.request_card_update(session, conversation)
        self.wake()
        return True

    def clock_moved(self, session: Session, conversation: Conversation) -> None:
        """A reply was accepted or withdrawn, or the conversation closed or reopened: its
        response clock's timers and record follow (bot/sla/timers.py)."""
        sla = self.sla.get(conversation.account)
        if sla is None:
            return
        session.flush()
        timers.schedule(session, conversation, sla)
        timers.record_stop(session, conversation)

    # ---- outbound ---------------------------------------------------------------------

    def accept_reply(self, reply: SlackReply, *, hold: bool = True) -> ReplyOutcome:
        """A human wrote in a conversation thread: queue it for the network after the undo
        window, or tell the thread why not. Slack's redeliveries hit the unique key."""
        if is_internal_note(reply.text, self.settings.slack):
            return ReplyOutcome.INTERNAL
        early = {"kind": "reply", "reply": asdict(reply)} if hold else None
        found = self.find_card(reply.channel, reply.thread_ts, early=early)
        if found is None:
            return ReplyOutcome.NOT_A_CONVERSATION
        if isinstance(found, _Held):
            return ReplyOutcome.HELD
        plain = outgoing_text(reply.text, self.settings.slack, self.slack)
        conversation = found
        with self.store.read() as session:
            # What the reply answers is fixed now, where the agent looked (issue 9 item 2).
            target = targets.reply_target(session, conversation, reply_ts=reply.ts)
        refusal = self._not_allowed(reply) or self._refusal(conversation, plain, target)
        with self.store.session() as session:
            if not queue_reply(
                session,
                conversation,
                channel=reply.channel,
                ts=reply.ts,
                user=reply.user,
                plain=plain,
                target=target,
                refusal=refusal,
                send_delay_seconds=self.settings.slack.send_delay_seconds,
            ):
                return ReplyOutcome.DUPLICATE
            if refusal is None:
                self.clock_moved(session, conversation)
        self.wake()
        return ReplyOutcome.REFUSED if refusal else ReplyOutcome.QUEUED

    def edit_reply(self, reply: SlackReply) -> None:
        """An edit inside the undo window changes what will be sent; later, the thread is
        told that the public reply stays as it was. An edit into an internal note cancels.

        Slack may hand the edit over before the original message's event has been stored
        (they are processed concurrently): then the edit is taken as the reply itself, and
        the original, arriving later, is a duplicate."""
        for _ in range(2):
            if self._apply_edit(reply):
                return
            if is_internal_note(reply.text, self.settings.slack):
                self.delete_reply(channel=reply.channel, ts=reply.ts, thread_ts=reply.thread_ts)
                return
            if self.accept_reply(reply) is not ReplyOutcome.DUPLICATE:
                return
            # The original was stored in between: now the edit can apply to it.

    def _apply_edit(self, reply: SlackReply) -> bool:
        """False when no outbound message has this ts yet."""
        plain = outgoing_text(reply.text, self.settings.slack, self.slack)
        with self.store.session() as session:
            message = queries.outbound_by_ts(session, reply.channel, reply.ts)
            if message is None:
                return False
            if message.state not in ("queued", "sent"):
                return True
            conversation = session.get_one(Conversation, message.conversation_id)
            if not outbox.lock_pending(session, kind=SEND_REPLY, message_id=message.id or 0):
                self.notify(session, conversation, "reply.edit_too_late")
                return True
            target = targets.reply_target(session, conversation, reply_ts=reply.ts)
            refusal = self._refusal(conversation, plain, target)
            if is_internal_note(reply.text, self.settings.slack) or refusal:
                outbox.cancel_pending(session, kind=SEND_REPLY, message_id=message.id or 0)
                message.state = "refused" if refusal else "cancelled"
                if refusal:
                    self.notify(session, conversation, refusal[0], **refusal[1])
                session.add(message)
                self.clock_moved(session, conversation)
            else:
                message.text = plain
            session.add(message)
            return True

    def delete_reply(
        self, *, channel: str, ts: str, thread_ts: str | None, hold: bool = True
    ) -> None:
        """Deleting the Slack message inside the undo window cancels the reply. A delete
        that overtakes the original's event leaves a tombstone, so the original is not sent."""
        with self.store.read() as session:
            known = queries.outbound_by_ts(session, channel, ts) is not None
        if not known and thread_ts:
            early = {"kind": "delete", "channel": channel, "ts": ts, "thread_ts": thread_ts}
            if isinstance(self.find_card(channel, thread_ts, early=early if hold else None), _Held):
                return
        with self.store.session() as session:
            message = queries.outbound_by_ts(session, channel, ts)
            if message is None:
                conversation = (
                    queries.conversation_by_card(session, channel, thread_ts) if thread_ts else None
                )
                if conversation is not None:
                    self._tombstone(session, conversation, channel=channel, ts=ts)
                return
            if message.state not in ("queued", "sent"):
                return
            if outbox.cancel_pending(session, kind=SEND_REPLY, message_id=message.id or 0):
                message.state = "cancelled"
                session.add(message)
                self.clock_moved(session, session.get_one(Conversation, message.conversation_id))
                return
            conversation = session.get_one(Conversation, message.conversation_id)
            self.notify(session, conversation, "reply.delete_too_late")

    def find_card(
        self, channel: str, ts: str, *, early: Mapping[str, object] | None
    ) -> Conversation | _Held | None:
        """The conversation whose card is at (channel, ts), or None.

        Slack shows a card as soon as it accepts chat.postMessage; the bot records its ts
        only when Slack answers (or, after a timeout, when reconciliation finds it). An
        event about an unknown message in a channel where a card is still unrecorded may be
        about that card: with `early` given, it is stored as a job that replays it once the
        card is known (HELD), instead of being dropped.
        """
        with self.store.read() as session:
            conversation = queries.conversation_by_card(session, channel, ts)
        if conversation is None and early is not None:
            # One write transaction: on SQLite it holds the write lock, so no card can be
            # recorded between the two look-ups; on PostgreSQL each statement sees the
            # latest commit, so a card recorded meanwhile is found by the second.
            with self.store.session() as session:
                if queries.card_pending(session, channel):
                    outbox.enqueue(
                        session,
                        kind=HELD_EVENT,
                        ordering_key=held_key(channel, ts),
                        payload={"channel": channel, "card_ts": ts, "event": dict(early)},
                    )
                    logger.info("event about %s/%s held until its card is recorded", channel, ts)
                    self.wake()
                    return HELD
                conversation = queries.conversation_by_card(session, channel, ts)
        if conversation is None:
            logger.debug("no conversation has its card at %s/%s; event ignored", channel, ts)
            return None
        return conversation

    def replay(self, early: Mapping[str, object]) -> None:
        """Handle an event held by find_card, now that its card is recorded."""
        kind = early.get("kind")
        if kind == "reply" and isinstance(early.get("reply"), Mapping):
            fields = dict(early["reply"])  # type: ignore[call-overload]
            self.accept_reply(SlackReply(**fields), hold=False)
        elif kind == "delete":
            self.delete_reply(
                channel=str(early["channel"]),
                ts=str(early["ts"]),
                thread_ts=str(early["thread_ts"]),
                hold=False,
            )
        elif kind == "status":
            self.change_status(
                channel=str(early["channel"]),
                ts=str(early["ts"]),
                user=str(early["user"]),
                change=triage.Change(str(early["change"])),
                only_own_claim=bool(early.get("only_own_claim")),
                hold=False,
            )
        else:
            logger.warning("held event of unknown kind %r; skipped", kind)

    def _tombstone(
        self, session: Session, conversation: Conversation, *, channel: str, ts: str
    ) -> None:
        try:
            with session.begin_nested():
                session.add(
                    Message(
                        conversation_id=conversation.id or 0,
                        account=conversation.account,
                        direction="out",
                        slack_channel=channel,
                        slack_ts=ts,
                        text="",
                        state="cancelled",
                    )
                )
        except sa.exc.IntegrityError:
            pass  # the original arrived meanwhile; its delete is handled by a redelivery

    def _not_allowed(self, reply: SlackReply) -> tuple[str, dict[str, object]] | None:
        """Only members of the mapped channel from this workspace, not guests (and only
        those on the allow-list, if one is set), speak for the company in public
        (invariant 4); bot/speakers.py holds the rule."""
        return SpeakerPolicy(self.settings.slack, self.slack).reply_refusal(
            channel=reply.channel, user=reply.user, user_team=reply.user_team
        )

    def _refusal(
        self, conversation: Conversation, plain: str, target: ReplyTarget
    ) -> tuple[str, dict[str, object]] | None:
        """Why a reply cannot go out as written (empty, too long), or None."""
        if not plain:
            return ("reply.empty", {})
        source = self.sources[conversation.account]
        verdict = source.measure(source.prepare_reply(plain, to=target))
        if not verdict.fits:
            return (refusal_key(verdict), {"limit": verdict.limit, "count": verdict.count})
        return None

    def notify(
        self, session: Session, conversation: Conversation, key: str, **values: object
    ) -> None:
        """Queue a sentence from the catalog for the conversation's thread."""
        queue_notice(session, conversation, key, **values)
