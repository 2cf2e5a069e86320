"""What each outbox job does: one call to Slack or a network, then a record of the outcome.

A performer returns a function that the delivery worker runs in the transaction that marks
the job done, so "the reply went out" and "the job is finished" are stored together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import targets
from bot.bridge import Bridge
from bot.catalog import say
from bot.domain import DeliveryError
from bot.erasure_slack import ErasedMessageRewriter
from bot.jobkinds import (
    HELD_EVENT,
    NOTICE,
    POST_INBOUND,
    REACT,
    REWRITE_ERASED,
    SEND_REPLY,
    SLA_TIMER,
    UPDATE_CARD,
    inbound_metadata_key,
    parse_inbound_metadata_key,
    slack_key,
)
from bot.sla.notices import ResponseClock
from bot.slack.escape import escape_mrkdwn
from bot.slack.render import (
    network_name,
    render_card,
    render_followup,
    render_notice,
    render_plain_card,
    render_plain_followup,
)
from bot.slack.send import post_or_plain, update_or_plain
from bot.slack.views import post_view, status_view
from bot.store import Conversation, Job, Message, outbox, queries, utcnow
from bot.textlength import refusal_key

logger = logging.getLogger(__name__)

Record = Callable[[Session], None]
Performer = Callable[[Job], Record | None]
MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]


class JobPerformers:
    """The handlers the DeliveryWorker dispatches to, by job kind."""

    def __init__(
        self, bridge: Bridge, *, on_reply_sent: Callable[[str], None] = lambda account: None
    ) -> None:
        self.bridge = bridge
        self.on_reply_sent = on_reply_sent
        self.store = bridge.store
        self.slack = bridge.slack
        # The response clock's targets by account; accounts without one are not timed.
        self.clock = ResponseClock(self.store, self.slack, bridge.sla)
        # Rows read by `preload` for jobs about to run, by message id; each performer takes
        # its own out (dict operations are atomic, so the worker threads need no lock).
        self._preloaded: dict[int, tuple[Message, Conversation]] = {}

    def preload(self, session: Session, jobs: Sequence[Job]) -> None:
        """Read, in the lease's transaction, the message and conversation that a card or a
        reply starts from, for all leased jobs in one query (DeliveryWorker's `preload`):
        a read transaction per job was a tenth of the bot's CPU under a backlog."""
        ids = [job.message_id for job in jobs if job.kind in _STARTS_FROM_MESSAGE]
        if ids:
            for message, conversation in _message_and_conversation(session, ids):
                self._preloaded[message.id or 0] = (message, conversation)

    def _message_and_conversation(self, job: Job) -> tuple[Message, Conversation]:
        """The job's message and its conversation: as preloaded at lease time, or read now."""
        found = self._preloaded.pop(job.message_id or 0, None)
        if found is not None:
            return found
        with self.store.read() as session:
            [found] = _message_and_conversation(session, [job.message_id])
        return found

    def by_kind(self) -> Mapping[str, Performer]:
        return {
            POST_INBOUND: self.post_inbound,
            SEND_REPLY: self.send_reply,
            UPDATE_CARD: self.update_card,
            NOTICE: self.notice,
            REACT: self.react,
            HELD_EVENT: self.held_event,
            SLA_TIMER: self.clock.fire,
            REWRITE_ERASED: ErasedMessageRewriter(
                self.store, self.slack, update_card=self.update_card
            ),
        }

    # ---- network -> Slack -------------------------------------------------------------

    def post_inbound(self, job: Job) -> Record | None:
        message, conversation = self._message_and_conversation(job)
        if message.slack_ts is not None:
            return None
        # The first message becomes the card; if the card never made it, this one does.
        is_card = conversation.slack_ts is None
        metadata_key = inbound_metadata_key(message.account, message.remote_id or "")
        post = post_view(conversation, message)
        ts: str | None = None
        if job.attempts > 1:  # an earlier attempt may have landed before the process died
            ts = self.slack.find_posted(
                channel=conversation.slack_channel,
                thread_ts=None if is_card else conversation.slack_ts,
                metadata_key=metadata_key,
                oldest=(job.created_at - timedelta(minutes=5)).timestamp(),
            )
        if ts is None:
            if is_card:
                status = status_view(conversation, self.clock.card_due(conversation))
                text, blocks = render_card(post, status)
                plain = render_plain_card(post, status)
            else:
                text, blocks = render_followup(post)
                plain = render_plain_followup(post)
            ts = post_or_plain(
                self.slack,
                channel=conversation.slack_channel,
                text=text,
                blocks=blocks,
                plain=plain,
                thread_ts=None if is_card else conversation.slack_ts,
                metadata_key=metadata_key,
            )
        posted_ts = ts

        def record(session: Session) -> None:
            # Straight UPDATEs, built once: loading both rows into the ORM to set two columns,
            # or building the statements anew, cost more than running them (profile of
            # 2026-12-04, BENCHMARKS.md).
            connection = session.connection()  # Core: the ORM's execute adds nothing here
            connection.execute(_MESSAGE_POSTED, {"id_": message.id, "ts": posted_ts})
            if is_card:
                connection.execute(_CARD_POSTED, {"id_": conversation.id, "ts": posted_ts})

        return record

    def update_card(self, job: Job) -> Record | None:
        with self.store.read() as session:
            conversation = session.get_one(Conversation, job.conversation_id)
            first = _first_inbound(session, conversation)
            due = self.clock.due(session, conversation)
        if first is None:
            return None
        if conversation.slack_ts is None:  # the card itself is still on its way
            raise DeliveryError("the card is not in Slack yet")
        post, status = post_view(conversation, first), status_view(conversation, due)
        text, blocks = render_card(post, status)
        update_or_plain(
            self.slack,
            channel=conversation.slack_channel,
            ts=conversation.slack_ts,
            text=text,
            blocks=blocks,
            plain=render_plain_card(post, status),
        )
        return None

    def notice(self, job: Job) -> Record | None:
        payload = json.loads(job.payload_json)
        with self.store.read() as session:
            conversation = session.get_one(Conversation, job.conversation_id)
        if conversation.slack_ts is None:
            raise DeliveryError("the conversation's card is not in Slack yet")
        values = {"network": network_name(conversation.network), **payload.get("values", {})}
        text, blocks = render_notice(say(payload["key"], **values))
        post_or_plain(
            self.slack,
            channel=conversation.slack_channel,
            text=text,
            blocks=blocks,
            plain=text,
            thread_ts=conversation.slack_ts,
        )
        return None

    def react(self, job: Job) -> Record | None:
        with self.store.read() as session:
            message = session.get_one(Message, job.message_id)
        if message.slack_ts is not None:
            self.slack.react(
                channel=message.slack_channel,
                ts=message.slack_ts,
                name=self.bridge.settings.slack.sent_reaction,
            )
        return None

    def held_event(self, job: Job) -> Record | None:
        """Replay an event that came before its card was recorded (see Bridge.find_card):
        once the card is known, or once Slack's copy of the card names it."""
        early = json.loads(job.payload_json)
        channel, ts = str(early.get("channel", "")), str(early.get("card_ts", ""))
        with self.store.read() as session:
            known = queries.conversation_by_card(session, channel, ts) is not None
            pending = queries.card_pending(session, channel)
        if not known and pending:
            known = self._record_card_from_slack(channel=channel, ts=ts)
        if not known:
            if pending:  # the card may still be on its way (e.g. Slack is slow to list it)
                raise DeliveryError("the card of this thread is not recorded yet")
            logger.debug("held event about %s/%s: not a card; dropped", channel, ts)
            return None
        self.bridge.replay(early["event"])
        return None

    def _record_card_from_slack(self, *, channel: str, ts: str) -> bool:
        """Slack has the card (its metadata names the mention) but the bot has not recorded
        it yet: record it now, as the card's own job would after reconciling."""
        parsed = parse_inbound_metadata_key(
            self.slack.metadata_key_of_parent(channel=channel, ts=ts) or ""
        )
        if parsed is None:
            return False
        with self.store.session() as session:
            message = queries.inbound_by_remote_id(session, *parsed)
            if message is None:
                return False
            conversation = session.get_one(Conversation, message.conversation_id)
            if conversation.slack_channel != channel:
                return False
            if conversation.slack_ts is None and message.slack_ts is None:
                conversation.slack_ts = message.slack_ts = ts
                message.state = "posted"
                session.add_all([conversation, message])
                logger.info("card %s/%s recorded from Slack's copy", channel, ts)
            return conversation.slack_ts == ts

    # ---- Slack -> network -------------------------------------------------------------

    def send_reply(self, job: Job) -> Record | None:
        message, conversation = self._message_and_conversation(job)
        # Fixed when the reply was accepted; jobs queued before that was stored recompute
        # it the same way.
        target = targets.target_from_payload(json.loads(job.payload_json))
        if target is None:
            with self.store.read() as session:
                target = targets.reply_target(
                    session, conversation, reply_ts=message.slack_ts or ""
                )
        if message.state != "queued":
            return None  # cancelled inside the undo window
        source = self.bridge.sources[conversation.account]
        text = source.prepare_reply(message.text, to=target)
        verdict = source.measure(text)
        if not verdict.fits:
            # Not a delivery failure but a refusal, told in the thread as at accept (one
            # sentence, not "Not sent to Mastodon: Not sent: ..."); the limit may have
            # shrunk since (an instance's max_characters) or the prefix grown.
            return self._refused(
                message, conversation, refusal_key(verdict), verdict.limit, verdict.count
            )
        key = f"socialbridge-{message.slack_channel}-{message.slack_ts}"
        sent = None
        if job.attempts > 1:
            sent = source.find_reply(to=target, text=text, key=key)
        if sent is None:
            sent = source.reply(to=target, text=text, key=key)
        reply = sent
        self.on_reply_sent(conversation.account)

        def record(session: Session) -> None:
            stored = session.get_one(Message, message.id)
            stored.remote_id = reply.remote_id
            stored.remote_url = reply.url
            stored.in_reply_to = target.remote_id
            stored.visibility = target.visibility.value
            stored.extra_json = json.dumps(dict(reply.extra))
            stored.state = "sent"
            stored.last_error = None
            session.add(stored)
            card = session.get_one(Conversation, conversation.id)
            now = utcnow()
            if card.first_response_at is None:
                card.first_response_at = now
                card.first_response_seconds = int((now - card.opened_at).total_seconds())
            card.last_response_at = now
            session.add(card)
            outbox.enqueue(
                session,
                kind=REACT,
                ordering_key=slack_key(card.id),
                conversation_id=card.id,
                message_id=stored.id,
            )
            self.bridge.request_card_update(session, card)

        return record

    def _refused(
        self, message: Message, conversation: Conversation, key: str, limit: int, count: int
    ) -> Record:
        def record(session: Session) -> None:
            stored = session.get_one(Message, message.id)
            stored.state = "refused"
            session.add(stored)
            card = session.get_one(Conversation, conversation.id)
            self.bridge.notify(session, card, key, limit=limit, count=count)
            self.bridge.clock_moved(session, card)  # not answered after all

        return record

    # ---- when the worker gives up -----------------------------------------------------

    def gave_up(self, session: Session, job: Job, reason: str) -> None:
        """A job failed for good: a reply's failure is told in its thread (invariant 1)."""
        if job.kind == SEND_REPLY and job.message_id is not None:
            message = session.get_one(Message, job.message_id)
            message.state = "failed"
            message.last_error = reason[:500]
            session.add(message)
            conversation = session.get_one(Conversation, message.conversation_id)
            self.bridge.notify(session, conversation, "reply.failed", reason=escape_mrkdwn(reason))
            self.bridge.clock_moved(session, conversation)  # not answered after all
        elif job.kind == POST_INBOUND and job.message_id is not None:
            message = session.get_one(Message, job.message_id)
            message.state = "failed"
            message.last_error = reason[:500]
            session.add(message)
            logger.error(
                "mention %s of %s could not be posted to Slack: %s",
                message.remote_id,
                message.account,
                reason,
            )


_STARTS_FROM_MESSAGE = frozenset({POST_INBOUND, SEND_REPLY})
_MESSAGES_AND_CONVERSATIONS = (
    select(Message, Conversation)
    .join(Conversation, col(Conversation.id) == Message.conversation_id)
    .where(col(Message.id).in_(sa.bindparam("ids", expanding=True)))
)
_MESSAGE_POSTED = (
    sa.update(MESSAGES)
    .where(MESSAGES.c.id == sa.bindparam("id_"))
    .values(slack_ts=sa.bindparam("ts"), state="posted")
)
_CARD_POSTED = (
    sa.update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == sa.bindparam("id_"))
    .values(slack_ts=sa.bindparam("ts"))
)


def _message_and_conversation(
    session: Session, message_ids: Sequence[int | None]
) -> list[tuple[Message, Conversation]]:
    rows = session.exec(_MESSAGES_AND_CONVERSATIONS, params={"ids": list(message_ids)})
    return [(message, conversation) for message, conversation in rows]


def _first_inbound(session: Session, conversation: Conversation) -> Message | None:
    return session.exec(
        select(Message)
        .where(col(Message.conversation_id) == conversation.id, col(Message.direction) == "in")
        .order_by(col(Message.id))
        .limit(1)
    ).first()
