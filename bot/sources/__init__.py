"""The networks. Adding one: a module with a Source class, and one line in SOURCES."""

from __future__ import annotations

from collections.abc import Mapping

from bot.settings import NetworkKeys
from bot.sources.base import SessionStore, Source, SourceFactory
from bot.sources.bluesky.source import BlueskySource
from bot.sources.mastodon.source import MastodonSource
from bot.sources.x.source import XSource

_SOURCE_CLASSES = (MastodonSource, BlueskySource, XSource)

SOURCES: Mapping[str, SourceFactory] = {cls.network: cls for cls in _SOURCE_CLASSES}
NETWORK_KEYS: Mapping[str, NetworkKeys] = {cls.network: cls.keys for cls in _SOURCE_CLASSES}

__all__ = ["NETWORK_KEYS", "SOURCES", "SessionStore", "Source", "SourceFactory"]
