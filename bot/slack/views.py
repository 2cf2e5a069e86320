"""Store rows as the views bot/slack/render.py draws: the card's post and its status."""

from __future__ import annotations

from datetime import datetime

from bot.erasure import is_erased
from bot.slack.render import PostView, StatusView
from bot.store import Conversation, Message, utcnow


def post_view(conversation: Conversation, message: Message) -> PostView:
    return PostView(
        network=conversation.network,
        author_name=message.author_name,
        author_handle=message.author_handle,
        author_url=message.author_url,
        text=message.text,
        url=message.remote_url or "",
        created_at=message.created_at,
        private=conversation.private,
        erased=is_erased(message),
    )


def status_view(
    conversation: Conversation, due: datetime | None = None, *, now: datetime | None = None
) -> StatusView:
    return StatusView(
        due=due,
        overdue=due is not None and due <= (now or utcnow()),
        status=conversation.status,
        opened_at=conversation.opened_at,
        last_inbound_at=conversation.last_inbound_at,
        assignee=conversation.assignee,
        first_response_at=conversation.first_response_at,
        last_response_at=conversation.last_response_at,
        closed_at=conversation.closed_at,
        closed_by=conversation.closed_by,
        reopened=conversation.reopened,
    )
