"""Fast, in-process checks of the card (bot/slack/render.py) and of claim and close
(bot/triage.py): what a card says at each step of a conversation, with hostile input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.slack_blockkit import block_errors
from bot.slack.render import (
    PostView,
    StatusView,
    render_card,
    render_followup,
    render_plain_card,
    status_line,
)
from bot.slack.views import status_view
from bot.store import Conversation
from bot.triage import Change, apply, reopen
from tests.factories import new_conversation

OPENED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
POST = PostView(
    network="mastodon",
    author_name="Vera <!channel> & *co*",
    author_handle="vera@remote.example",
    author_url="https://remote.example/@vera",
    text="<@U123> my order & <script> never came",
    url="https://remote.example/@vera/1",
    created_at=OPENED,
    private=False,
)
OPEN = StatusView(
    status="open",
    opened_at=OPENED,
    last_inbound_at=OPENED,
    assignee=None,
    first_response_at=None,
    last_response_at=None,
    closed_at=None,
    closed_by=None,
    reopened=False,
)


def _texts(blocks: list[dict[str, Any]]) -> str:
    """Every text the blocks show, joined."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def test_a_card_escapes_what_the_customer_wrote_and_slack_takes_it() -> None:
    text, blocks = render_card(POST, OPEN)
    shown = _texts(blocks) + "\n" + text
    assert "<!channel>" not in shown and "<@U123>" not in shown and "<script>" not in shown
    assert "&lt;!channel&gt;" in shown and "&lt;@U123&gt;" in shown
    assert block_errors(blocks) == []
    assert "Open, waiting since" in _texts(blocks)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        "conversation_claim",
        "conversation_close",
        "open_post",
    ]


def test_a_private_card_says_so_first_and_its_plain_form_keeps_the_link() -> None:
    _, blocks = render_card(replace(POST, private=True), OPEN)
    assert "Private mention" in _texts(blocks[:1])
    plain = render_plain_card(POST, OPEN)
    assert "<https://remote.example/@vera/1|" in plain
    assert "&lt;script&gt;" in plain


def test_a_follow_up_is_a_shorter_message_without_buttons() -> None:
    _, blocks = render_followup(POST)
    assert block_errors(blocks) == []
    assert not [b for b in blocks if b["type"] == "actions"]


def _conversation() -> Conversation:
    return new_conversation(OPENED)


def _status(conversation: Conversation) -> StatusView:
    return replace(
        OPEN,
        status=conversation.status,
        assignee=conversation.assignee,
        closed_at=conversation.closed_at,
        closed_by=conversation.closed_by,
        reopened=conversation.reopened,
    )


def test_a_running_clock_shows_its_due_time_until_the_conversation_closes() -> None:
    due = OPENED + timedelta(minutes=30)
    line = status_line(replace(OPEN, due=due))
    epoch = int(due.timestamp())
    assert f"answer due <!date^{epoch}^{{time}}|09:30 UTC>" in line
    assert f"(<!date^{epoch}^{{ago}}|09:30 UTC>)" in line
    closed = replace(OPEN, due=due, status="closed", closed_at=due, closed_by="U1")
    assert "answer due" not in status_line(closed)
    assert "answer due" not in status_line(OPEN)


def test_a_card_drawn_after_the_due_time_says_overdue() -> None:
    due = OPENED + timedelta(minutes=30)
    conversation = Conversation(
        account="acme",
        network="mastodon",
        remote_root="1",
        slack_channel="C1",
        opened_at=OPENED,
        last_inbound_at=OPENED,
    )
    before = status_view(conversation, due, now=due - timedelta(seconds=1))
    after = status_view(conversation, due, now=due)
    assert "answer due" in status_line(before) and "overdue" not in status_line(before)
    assert ":rotating_light: answer overdue since <!date^" in status_line(after)


def test_claim_close_and_reopen_change_the_status_once_each() -> None:
    conversation = _conversation()
    later = OPENED + timedelta(minutes=90)
    assert apply(Change.CLAIM, conversation, user="U1", now=later)
    assert not apply(Change.CLAIM, conversation, user="U1", now=later)  # a redelivery
    assert (conversation.status, conversation.assignee) == ("claimed", "U1")
    assert "Claimed by <@U1>" in status_line(_status(conversation))
    assert apply(Change.CLOSE, conversation, user="U2", now=later)
    assert not apply(Change.CLOSE, conversation, user="U2", now=later)
    assert conversation.close_seconds == 90 * 60
    assert status_line(_status(conversation)).startswith(":white_check_mark: Closed by <@U2>")
    assert reopen(conversation, now=later, by_message=True)
    assert (conversation.status, conversation.assignee) == ("claimed", "U1")
    assert conversation.reopened_at == later
    assert conversation.close_seconds is None and conversation.reopened


def test_only_the_assignee_s_own_unclaim_counts_when_asked_so() -> None:
    conversation = _conversation()
    apply(Change.CLAIM, conversation, user="U1", now=OPENED)
    assert not apply(Change.UNCLAIM, conversation, user="U2", now=OPENED, only_own_claim=True)
    assert conversation.assignee == "U1"
    assert apply(Change.UNCLAIM, conversation, user="U1", now=OPENED, only_own_claim=True)
    assert conversation.status == "open"
    assert conversation.assignee is None
