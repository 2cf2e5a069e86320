"""Block Kit for the conversation card and thread follow-ups.

Everything that came from the internet passes through escape_mrkdwn or slack_link before
it is placed in mrkdwn, so `<!channel>` in a post stays text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.catalog import duration, say
from bot.slack.blocks import SECTION_TEXT_LIMIT, cut
from bot.slack.escape import escape_mrkdwn, escape_plain_text, slack_link

NETWORK_NAMES = {"mastodon": "Mastodon", "bluesky": "Bluesky", "x": "X"}
NOTIFICATION_LIMIT = 150
# A display name or handle longer than this reads as noise; the cut keeps the card's "from"
# line (name, handle, network) whole instead of letting Slack's 3,000 eat its end.
NAME_LIMIT = 200

Blocks = list[dict[str, Any]]

ACTION_PREFIX = "conversation_"  # + claim | unclaim | close | reopen
OPEN_POST_ACTION = "open_post"


def network_name(network: str) -> str:
    return NETWORK_NAMES.get(network, network.capitalize())


@dataclass(frozen=True, slots=True)
class PostView:
    """One inbound post as Slack shows it."""

    network: str
    author_name: str
    author_handle: str
    author_url: str
    text: str
    url: str
    created_at: datetime
    private: bool
    erased: bool = False  # text, names and links removed (bot/erasure.py)


@dataclass(frozen=True, slots=True)
class StatusView:
    status: str  # open | claimed | closed
    opened_at: datetime
    last_inbound_at: datetime
    assignee: str | None
    first_response_at: datetime | None
    last_response_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    reopened: bool
    due: datetime | None = None  # the response clock's due time, while it runs (bot/sla/)
    overdue: bool = False  # the due time had passed when the card was drawn


def status_line(status: StatusView) -> str:
    line = _status_words(status)
    if status.due is not None and status.status != "closed":
        # {ago} reads "in 25 minutes" before the due time and "12 minutes ago" after it,
        # at reading time, so the card stays true without an update at the due time.
        due, fallback = status.due, f"{status.due:%H:%M} UTC"
        line += "  ·  " + say(
            "status.overdue" if status.overdue else "status.due",
            due=date_token(due, "{time}", fallback),
            left=date_token(due, "{ago}", fallback),
        )
    return line


def _status_words(status: StatusView) -> str:
    if status.status == "closed" and status.closed_at is not None:
        return say(
            "status.closed",
            user=status.closed_by or "someone",
            duration=duration((status.closed_at - status.opened_at).total_seconds()),
        )
    answered = status.last_response_at is not None and (
        status.last_response_at >= status.last_inbound_at
    )
    if answered and status.first_response_at is not None:
        first = duration((status.first_response_at - status.opened_at).total_seconds())
        if status.assignee:
            return say("status.answered_claimed", first_response=first, user=status.assignee)
        return say("status.answered", first_response=first)
    waiting_since = status.last_inbound_at if status.last_response_at else status.opened_at
    # Slack renders {ago} ("5 minutes ago") at reading time, so the card's age stays true
    # between updates without the bot rewriting every open card on a timer.
    # https://api.slack.com/reference/surfaces/formatting#date-formatting
    since = date_token(waiting_since, "{ago}", f"{waiting_since:%H:%M} UTC")
    if status.assignee:
        return say("status.claimed", user=status.assignee, since=since)
    if status.reopened:
        return say("status.reopened", since=since)
    return say("status.open", since=since)


def render_card(post: PostView, status: StatusView) -> tuple[str, Blocks]:
    """The parent message of a conversation: who, what, when, where, and how it stands."""
    if post.erased:
        return _erased_card(post, status)
    name, author = _author(post)
    blocks: Blocks = [
        context_block(
            say("card.from", name=f"*{name}*", handle=author, network=network_name(post.network))
        ),
        {
            "type": "section",
            "text": _mrkdwn(_body(post.text)),
        },
        context_block(
            when(post.created_at)
            + "  ·  "
            + slack_link(post.url, say("card.open_on", network=network_name(post.network)))
        ),
    ]
    if post.private:
        blocks.insert(
            0, context_block(say("card.private", handle=escape_mrkdwn(_plain_handle(post))))
        )
    blocks.append(context_block(status_line(status), block_id="status"))
    blocks.append(_buttons(status, post))
    text = say(
        "card.notification",
        network=network_name(post.network),
        name=name,
        text=cut(escape_mrkdwn(post.text), NOTIFICATION_LIMIT),
    )
    return text, blocks


def render_plain_card(post: PostView, status: StatusView) -> str:
    """The card as text alone, for when Slack refuses its blocks (bot/slack/send.py): who,
    what, the link to the post, and how it stands. Escaped like the blocks; the caller's
    fit cuts it to the message limit without splitting an entity."""
    if post.erased:
        return say("erased.notification", network=network_name(post.network))
    name, author = _author(post)
    network = network_name(post.network)
    lines = [
        say("card.from", name=f"*{name}*", handle=author, network=network),
        cut(escape_mrkdwn(post.text), SECTION_TEXT_LIMIT),
        slack_link(post.url, say("card.open_on", network=network)),
        status_line(status),
    ]
    return "\n".join(line for line in lines if line)


def render_plain_followup(post: PostView) -> str:
    """A follow-up as text alone (see render_plain_card)."""
    if post.erased:
        return say("erased.notification", network=network_name(post.network))
    name, author = _author(post)
    link = slack_link(post.url, say("card.open_on", network=network_name(post.network)))
    body = cut(escape_mrkdwn(post.text), SECTION_TEXT_LIMIT)
    return f"*{name}* {author}\n{body}\n{link}"


def _author(post: PostView) -> tuple[str, str]:
    """The escaped display name, and the handle as a link to the profile where there is one."""
    name = escape_mrkdwn(cut(post.author_name or post.author_handle, NAME_LIMIT, mrkdwn=False))
    handle = _plain_handle(post)
    author = slack_link(post.author_url, handle) if post.author_url else escape_mrkdwn(handle)
    return name, author


def _plain_handle(post: PostView) -> str:
    """The author's handle as text, cut to fit a name's column; not yet escaped."""
    return "@" + cut(post.author_handle, NAME_LIMIT, mrkdwn=False)


def _buttons(status: StatusView, post: PostView) -> dict[str, Any]:
    claim = (
        ("unclaim", say("button.unclaim")) if status.assignee else ("claim", say("button.claim"))
    )
    close = (
        ("reopen", say("button.reopen"))
        if status.status == "closed"
        else ("close", say("button.close"))
    )
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": ACTION_PREFIX + action,
            "text": {"type": "plain_text", "text": label},
            **({"style": "primary"} if action == "claim" else {}),
        }
        for action, label in (claim, close)
    ]
    if post.url.startswith(("https://", "http://")):
        elements.append(
            {
                "type": "button",
                "action_id": OPEN_POST_ACTION,
                "text": {
                    "type": "plain_text",
                    "text": say("card.open_on", network=network_name(post.network)),
                },
                "url": post.url,  # one too long for a button drops it (bot/slack/blocks.py)
            }
        )
    return {"type": "actions", "block_id": "actions", "elements": elements}


def render_followup(post: PostView) -> tuple[str, Blocks]:
    """A later post of the customer, as a reply in the conversation's thread."""
    if post.erased:
        return _erased_followup(post)
    name, author = _author(post)
    blocks: Blocks = [
        context_block(
            f"*{name}* {author}  ·  {when(post.created_at)}  ·  "
            + slack_link(post.url, say("card.open_on", network=network_name(post.network)))
        ),
        {"type": "section", "text": _mrkdwn(_body(post.text))},
    ]
    text = f"{name}: {cut(escape_mrkdwn(post.text), NOTIFICATION_LIMIT)}"
    return text, blocks


def _erased_card(post: PostView, status: StatusView) -> tuple[str, Blocks]:
    """The card once its post is erased: no name, text or link, still claimable."""
    author = say("erased.author", network=network_name(post.network))
    blocks: Blocks = [
        context_block(author),
        {"type": "section", "text": _mrkdwn(say("erased.text"))},
        context_block(when(post.created_at)),
        context_block(status_line(status), block_id="status"),
        _buttons(status, post),
    ]
    return say("erased.notification", network=network_name(post.network)), blocks


def _erased_followup(post: PostView) -> tuple[str, Blocks]:
    author = say("erased.author", network=network_name(post.network))
    blocks: Blocks = [
        context_block(f"{author}  ·  {when(post.created_at)}"),
        {"type": "section", "text": _mrkdwn(say("erased.text"))},
    ]
    return say("erased.notification", network=network_name(post.network)), blocks


def render_notice(text: str) -> tuple[str, Blocks]:
    """A sentence of the bot in a thread; its values (a reason, a name) may be remote text."""
    return text, [{"type": "section", "text": _mrkdwn(text)}]


def _body(text: str) -> str:
    # An empty section text is an invalid_blocks error; a post with only an image has none.
    return cut(escape_mrkdwn(text), SECTION_TEXT_LIMIT) or " "


def _mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object that Slack takes as written: `verbatim` stops it from turning a
    stranger's bare URL, #channel or @name into a link or a mention
    (https://api.slack.com/reference/block-kit/composition-objects#text). The bot's own
    `<url|label>`, `<@U…>` and `<!date…>` tokens still work."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def when(moment: datetime) -> str:
    # Each reader sees it in their own time zone; the fallback is UTC.
    return date_token(moment, "{date_short_pretty} {time}", f"{moment:%Y-%m-%d %H:%M} UTC")


def date_token(moment: datetime, template: str, fallback: str) -> str:
    """https://api.slack.com/reference/surfaces/formatting#date-formatting"""
    return f"<!date^{int(moment.timestamp())}^{template}|{escape_plain_text(fallback)}>"


def context_block(text: str, *, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "context", "elements": [_mrkdwn(text)]}
    if block_id:
        block["block_id"] = block_id
    return block


def archive_permalink(channel: str, ts: str, *, base: str = "https://slack.com") -> str:
    """A link to a Slack message without a Web API call: the path chat.getPermalink returns
    (`/archives/<channel>/p<ts without the dot>`), on the workspace's URL, or on slack.com,
    which sends a signed-in person to their workspace."""
    return f"{base.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
