"""The Web API methods FakeSlack answers, each `(workspace, request) -> result fields`.

A method reads and changes the records through `SlackWorkspace` (slack_workspace.py), which
is all it needs of FakeSlack, and checks its arguments with slack_arguments.py; it raises
SlackError for `{"ok": false, "error": ...}`, and FakeSlack adds `"ok": true` to what it
returns. Argument names, defaults and error codes follow
https://api.slack.com/methods/<method>.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.sandbox.http import Request
from bot.sandbox.slack_arguments import (
    checked_blocks,
    checked_metadata,
    cursor_ts,
    offset_page,
    own_message,
    page_limit,
    postable_channel,
    reaction_name,
    reaction_target,
    readable_channel,
    time_window,
    visible_channel,
)
from bot.sandbox.slack_blockkit import block_errors
from bot.sandbox.slack_state import SlackError, encode_cursor, truthy, ts_key
from bot.sandbox.slack_workspace import Json, SlackWorkspace

Method = Callable[[SlackWorkspace, Request], Json]

# https://api.slack.com/changelog/2018-04-truncating-really-long-messages: a longer `text`
# is cut to 40,000 characters and posted, with a message_truncated warning.
MAX_TEXT = 40_000
TRUNCATED = {
    "messages": [
        "[WARN] Your message was truncated but still posted."
        " The `text` field accepts up to 40,000 characters."
    ],
    "warnings": ["message_truncated"],
}


def auth_test(fake: SlackWorkspace, req: Request) -> Json:
    return {
        "url": f"https://{fake.team_domain}.slack.test/",
        "team": fake.team_name,
        "user": fake.bot_name,
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "is_enterprise_install": False,
        **({"enterprise_id": fake.enterprise_id} if fake.enterprise_id else {}),
    }


def apps_connections_open(fake: SlackWorkspace, req: Request) -> Json:
    if fake.socket_mode is None:
        raise SlackError("invalid_auth")  # an app without Socket Mode has no such token
    return {"url": fake.socket_mode()}


def team_info(fake: SlackWorkspace, req: Request) -> Json:
    return {
        "team": {
            "id": fake.team_id,
            "name": fake.team_name,
            "domain": fake.team_domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "url": f"https://{fake.team_domain}.slack.test/",
            "is_verified": False,
        }
    }


def chat_post_message(fake: SlackWorkspace, req: Request) -> Json:
    ch = postable_channel(fake, req.get("channel"))
    text = str(req.get("text") or "")
    blocks = checked_blocks(fake, req.get("blocks"))
    if not text and not blocks and not req.get("attachments"):
        raise SlackError("no_text")
    truncated = len(text) > MAX_TEXT
    text = text[:MAX_TEXT]
    metadata = checked_metadata(req.get("metadata"))
    fake.throttle(ch.id)
    msg = fake.store(
        ch,
        text=text,
        user=fake.bot_user_id,
        bot_id=fake.bot_id,
        app_id=fake.app_id,
        blocks=blocks,
        thread_ts=str(req.get("thread_ts") or "") or None,
        metadata=metadata,
        broadcast=truthy(req.get("reply_broadcast")),
    )
    answer = {"channel": ch.id, "ts": msg.ts, "message": fake.render(msg, metadata=True)}
    return {**answer, "response_metadata": TRUNCATED} if truncated else answer


def chat_update(fake: SlackWorkspace, req: Request) -> Json:
    ch = fake.find_channel(req.get("channel"))
    msg = own_message(fake, ch, req.get("ts"), "cant_update_message")
    text, blocks = req.get("text"), checked_blocks(fake, req.get("blocks"))
    if text is None and blocks is None and not req.get("attachments"):
        raise SlackError("no_text")
    truncated = text is not None and len(str(text)) > MAX_TEXT
    if text is not None:
        msg.text = str(text)[:MAX_TEXT]
    if blocks is not None:
        msg.blocks = blocks
    metadata = checked_metadata(req.get("metadata"))
    if metadata is not None:
        msg.metadata = metadata
    msg.edited = {"user": fake.bot_user_id, "ts": fake.next_ts()}
    rendered = fake.render(msg, metadata=False)
    answer = {"channel": ch.id, "ts": msg.ts, "text": msg.text, "message": rendered}
    return {**answer, "response_metadata": TRUNCATED} if truncated else answer


def chat_delete(fake: SlackWorkspace, req: Request) -> Json:
    ch = fake.find_channel(req.get("channel"))
    msg = own_message(fake, ch, req.get("ts"), "cant_delete_message")
    fake.delete(ch, msg)
    return {"channel": ch.id, "ts": msg.ts}


def chat_post_ephemeral(fake: SlackWorkspace, req: Request) -> Json:
    ch = postable_channel(fake, req.get("channel"))
    user = str(req.get("user") or "")
    if user not in fake.users:
        raise SlackError("user_not_found")
    if user not in ch.members:
        raise SlackError("user_not_in_channel")
    text, blocks = str(req.get("text") or ""), checked_blocks(fake, req.get("blocks"))
    if not text and not blocks and not req.get("attachments"):
        raise SlackError("no_text")
    text = text[:MAX_TEXT]
    ts = fake.next_ts()
    thread_ts = req.get("thread_ts")
    fake.record_ephemeral(
        {
            "channel": ch.id,
            "user": user,
            "text": text,
            "blocks": blocks,
            "thread_ts": str(thread_ts) if thread_ts else None,
            "message_ts": ts,
        }
    )
    return {"message_ts": ts}


def chat_get_permalink(fake: SlackWorkspace, req: Request) -> Json:
    ch = fake.find_channel(req.get("channel"))
    msg = ch.messages.get(str(req.get("message_ts") or ""))
    if msg is None:
        raise SlackError("message_not_found")
    return {"channel": ch.id, "permalink": fake.permalink(ch, msg)}


def reactions_add(fake: SlackWorkspace, req: Request) -> Json:
    msg = reaction_target(fake, req)
    name = reaction_name(req)
    users = msg.reactions.setdefault(name, [])
    if fake.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(fake.bot_user_id)
    return {}


def reactions_remove(fake: SlackWorkspace, req: Request) -> Json:
    msg = reaction_target(fake, req)
    name = reaction_name(req)
    users = msg.reactions.get(name, [])
    if fake.bot_user_id not in users:
        raise SlackError("no_reaction")
    users.remove(fake.bot_user_id)
    if not users:
        del msg.reactions[name]
    return {}


def reactions_get(fake: SlackWorkspace, req: Request) -> Json:
    msg = reaction_target(fake, req)
    rendered = fake.render(msg, metadata=False)
    rendered.setdefault("permalink", fake.permalink(fake.channels[msg.channel], msg))
    return {"type": "message", "channel": msg.channel, "message": rendered}


def users_info(fake: SlackWorkspace, req: Request) -> Json:
    user = fake.users.get(str(req.get("user") or ""))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_json(fake.team_id)}


def conversations_info(fake: SlackWorkspace, req: Request) -> Json:
    ch = visible_channel(fake, req.get("channel"))
    return {"channel": ch.to_json(num_members=truthy(req.get("include_num_members")))}


def conversations_join(fake: SlackWorkspace, req: Request) -> Json:
    ch = visible_channel(fake, req.get("channel"))
    if ch.is_archived:
        raise SlackError("is_archived")
    result: Json = {}
    if ch.is_member:
        result["warning"] = "already_in_channel"
        result["response_metadata"] = {"warnings": ["already_in_channel"]}
    fake.add_member(ch.id, fake.bot_user_id)
    result["channel"] = ch.to_json()
    return result


def conversations_members(fake: SlackWorkspace, req: Request) -> Json:
    ch = visible_channel(fake, req.get("channel"))
    members, cursor = offset_page(ch.members, req, default=100, maximum=1000)
    return {"members": members, "response_metadata": {"next_cursor": cursor}}


def usergroups_users_list(fake: SlackWorkspace, req: Request) -> Json:
    """https://api.slack.com/methods/usergroups.users.list"""
    group = str(req.get("usergroup") or "")
    if group not in fake.usergroups:
        raise SlackError("no_such_subteam")
    return {"users": list(fake.usergroups[group])}


def conversations_list(fake: SlackWorkspace, req: Request) -> Json:
    types = set(str(req.get("types") or "public_channel").replace(" ", "").split(","))
    exclude_archived = truthy(req.get("exclude_archived"))
    found = []
    for ch in fake.channels.values():
        kind = "im" if ch.is_im else ("private_channel" if ch.is_private else "public_channel")
        if kind not in types or (exclude_archived and ch.is_archived):
            continue
        if kind != "public_channel" and not ch.is_member:
            continue  # a bot sees only the private conversations it is in
        found.append(ch.to_json())
    channels, cursor = offset_page(found, req, default=100, maximum=1000)
    return {"channels": channels, "response_metadata": {"next_cursor": cursor}}


def conversations_history(fake: SlackWorkspace, req: Request) -> Json:
    """Top-level messages and thread parents (and broadcasts), newest first; message
    metadata only with include_all_metadata (https://api.slack.com/metadata/using)."""
    ch = readable_channel(fake, req.get("channel"))
    limit = page_limit(req.get("limit"), default=100, maximum=999)
    in_window = time_window(req)
    start = cursor_ts(req)
    newest_first = [ch.messages[ts] for ts in reversed(ch.timeline)]
    chosen = [m for m in newest_first if in_window(m) and (start is None or ts_key(m.ts) <= start)]
    page, rest = chosen[:limit], chosen[limit:]
    include = truthy(req.get("include_all_metadata"))
    result: Json = {
        "messages": [fake.render(m, metadata=include) for m in page],
        "has_more": bool(rest),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if rest:
        result["response_metadata"] = {"next_cursor": encode_cursor("next_ts", rest[0].ts)}
    return result


def conversations_replies(fake: SlackWorkspace, req: Request) -> Json:
    """The parent first, then its replies oldest first; like Slack, every page of a
    paginated thread starts with the parent again."""
    ch = readable_channel(fake, req.get("channel"))
    ts = str(req.get("ts") or "")
    if not ts:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: ts")
    parent = ch.messages.get(ts)
    if parent is None:
        raise SlackError("thread_not_found")
    limit = page_limit(req.get("limit"), default=1000, maximum=1000)
    in_window = time_window(req)
    start = cursor_ts(req)
    replies = [ch.messages[r] for r in parent.replies]
    chosen = [m for m in replies if in_window(m) and (start is None or ts_key(m.ts) >= start)]
    page, rest = chosen[:limit], chosen[limit:]
    include = truthy(req.get("include_all_metadata"))
    result: Json = {
        "messages": [fake.render(m, metadata=include) for m in [parent, *page]],
        "has_more": bool(rest),
    }
    if rest:
        result["response_metadata"] = {"next_cursor": encode_cursor("next_ts", rest[0].ts)}
    return result


def views_publish(fake: SlackWorkspace, req: Request) -> Json:
    user = str(req.get("user_id") or "")
    if user not in fake.users:
        raise SlackError("user_not_found")
    view = req.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            raise SlackError("invalid_arguments", "[ERROR] view: invalid JSON") from None
    if not isinstance(view, dict) or view.get("type") != "home":
        raise SlackError("invalid_arguments", "[ERROR] view.type must be home")
    blocks = view.get("blocks", [])
    errors = block_errors(blocks) if isinstance(blocks, list) else ["must be an array"]
    if errors:  # views.* name the field under /view, in response_metadata only
        pointed = [e.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for e in errors]
        raise SlackError("invalid_arguments", *[f"[ERROR] {e}" for e in pointed])
    stored: Json = {
        "id": f"V0SB{len(fake.users):03d}{user}",
        "team_id": fake.team_id,
        "type": "home",
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{fake.next_ts()}.sandbox",
        "app_id": fake.app_id,
        "bot_id": fake.bot_id,
    }
    fake.record_view(user, stored)
    return {"view": stored}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "team.info": team_info,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "reactions.get": reactions_get,
    "users.info": users_info,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
    "conversations.members": conversations_members,
    "conversations.list": conversations_list,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "views.publish": views_publish,
    "usergroups.users.list": usergroups_users_list,
}
