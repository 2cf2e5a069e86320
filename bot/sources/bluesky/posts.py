"""A post as the AppView shows it (a notification, or a post view in a thread) -> Post.

https://docs.bsky.app/docs/advanced-guides/posts (records, reply refs, embeds)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.domain import Author, Post
from bot.sources.bluesky.richtext import plain_text_of


def post_of(
    view: Mapping[str, Any], at: datetime, *, thread_key: Callable[[str], str | None]
) -> Post:
    """The post of a notification or a thread's post view (both carry uri, cid, author and
    record); `at` is its listing time. Raises KeyError, TypeError, ValueError or
    AttributeError on a view that lacks what a post needs."""
    uri, cid, record = str(view["uri"]), str(view["cid"]), view["record"]
    author = view["author"]
    reply = record.get("reply")
    if reply:
        root_uri, root_cid = str(reply["root"]["uri"]), str(reply["root"]["cid"])
        parent: str | None = str(reply["parent"]["uri"])
    else:
        root_uri, root_cid, parent = uri, cid, None
    handle = str(author["handle"])
    profile = profile_url(handle, str(author["did"]))
    text = plain_text_of(str(record.get("text") or ""), record.get("facets"))
    return Post(
        remote_id=uri,
        url=f"{profile}/post/{uri.rsplit('/', 1)[-1]}",
        author=Author(
            remote_id=str(author["did"]),
            handle=handle,
            display_name=str(author.get("displayName") or handle),
            url=profile,
        ),
        text="\n".join(part for part in (text, _embed_note(record.get("embed"), text)) if part),
        # The listing time, not the record's createdAt: a client may write any
        # createdAt, and replies go to the latest post of a conversation.
        created_at=at,
        in_reply_to=parent,
        thread_root=thread_key(root_uri),
        extra={"uri": uri, "cid": cid, "root_uri": root_uri, "root_cid": root_cid},
    )


def profile_url(handle: str, did: str) -> str:
    who = did if handle in ("", "handle.invalid") else handle
    return f"https://bsky.app/profile/{who}"


def _embed_note(embed: Any, text: str) -> str:
    """A short line for what a post carries besides its text (images, a link card)."""
    if not isinstance(embed, Mapping):
        return ""
    kind = embed.get("$type")
    if kind == "app.bsky.embed.recordWithMedia":
        return _embed_note(embed.get("media"), text)
    if kind == "app.bsky.embed.images":
        count = len(embed.get("images") or ())
        return f"[{count} image{'s' if count != 1 else ''}]"
    if kind == "app.bsky.embed.video":
        return "[video]"
    if kind == "app.bsky.embed.external":
        external = embed.get("external")
        uri = external.get("uri") if isinstance(external, Mapping) else None
        return f"[link: {uri}]" if isinstance(uri, str) and uri not in text else ""
    return ""
