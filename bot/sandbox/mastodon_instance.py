"""The fake Mastodon server's Instance entities (v1 and v2) and their configuration.

https://docs.joinmastodon.org/entities/Instance/ and .../V1_Instance/: what a client reads
to learn the server's limits (max_characters, characters_reserved_per_url, media) before it
posts. Built from `MastodonWorld` (mastodon_world.py); `FakeMastodon` serves them.
"""

from __future__ import annotations

from bot.sandbox import mastodon_html
from bot.sandbox.mastodon_world import Json, MastodonWorld


def instance_v2(world: MastodonWorld) -> Json:
    return {
        "domain": world.domain,
        "title": "Sandbox Mastodon",
        "version": "4.3.0",
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A loopback fake for socialbridge's tests.",
        "usage": {"users": {"active_month": len(world.accounts)}},
        "thumbnail": {"url": f"{world.base_url}/thumbnail.png"},
        "languages": ["en"],
        "configuration": configuration(world),
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "contact": {"email": "admin@sandbox.test", "account": None},
        "rules": [],
    }


def instance_v1(world: MastodonWorld) -> Json:
    return {
        "uri": world.domain,
        "title": "Sandbox Mastodon",
        "short_description": "A loopback fake.",
        "description": "A loopback fake for socialbridge's tests.",
        "email": "admin@sandbox.test",
        "version": "4.3.0",
        "urls": {},
        "stats": {"user_count": len(world.accounts), "status_count": len(world.statuses)},
        "languages": ["en"],
        "registrations": False,
        "approval_required": False,
        "configuration": configuration(world),
        "contact_account": None,
        "rules": [],
    }


def configuration(world: MastodonWorld) -> Json:
    return {
        "urls": {"streaming": f"ws://{world.domain}"},
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {
            "max_characters": world.max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": mastodon_html.URL_RESERVED,
        },
        "media_attachments": {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "video/mp4"],
            "image_size_limit": 16777216,
            "image_matrix_limit": 33177600,
            "video_size_limit": 103809024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8294400,
        },
        "polls": {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2629746,
        },
        "translation": {"enabled": False},
    }
