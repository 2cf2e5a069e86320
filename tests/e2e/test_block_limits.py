"""Nothing is lost to Block Kit's limits (#9 item 1): hostile profiles and posts still make
exactly one card, and a card whose blocks Slack refuses is posted as text, in the thread
that replies use. The bot runs as a process; the fake Slack checks the limits itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Scene, eventually, scene

LONG_URL = "https://remote.example/@" + "u" * 5000

HOSTILE = {
    "name_10kb": {"name": "N" * 10_000},
    "url_5kb": {"url": LONG_URL},
    "post_100kb": {"text": "word " * 20_000},
    "angle_ampersand_name": {"name": "<&>" * 2000},
}


def _cards(world: Scene) -> list[dict[str, object]]:
    return [m for m in world.slack.messages(world.channel) if m.get("bot_id")]


def _mention(world: Scene, handle: str, marker: str, case: dict[str, str]) -> dict[str, object]:
    customer = world.mastodon.add_account(handle, case.get("name", handle), "remote.example")
    if "url" in case:
        customer["url"] = case["url"]  # the fake's stored account: its statuses' URLs too
    status = world.mastodon.customer_posts(customer, f"{marker} {case.get('text', '')}")
    return status


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_profile_or_post_makes_exactly_one_card_and_its_thread_works(
    tmp_path: Path, db_url: str, case: str
) -> None:
    with scene(tmp_path, database_url=db_url) as world:
        status = _mention(world, "hostile", "parcel-1234", HOSTILE[case])
        card = world.card_for("parcel-1234")
        world.reply_in_thread(card, "We are on it")
        eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the reply")
        world.settle()
        assert len(_cards(world)) == 1
        assert len(world.statuses_replying_to(str(status["id"]))) == 1


def test_refused_blocks_give_a_plain_text_card_with_the_link_and_a_working_thread(
    tmp_path: Path, db_url: str
) -> None:
    with scene(tmp_path, database_url=db_url) as world:
        world.slack.refuse_blocks("msg_blocks_too_long", count=1)
        customer = world.mastodon.add_account("rita", "Rita", "remote.example")
        status = world.mastodon.customer_posts(customer, "my order 777 is late")
        card = world.card_for("my order 777 is late")
        assert str(status["url"]) in str(card["text"])
        world.reply_in_thread(card, "Sorry Rita, checking")
        eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the reply")
        world.settle()
        assert len(_cards(world)) == 1
        assert len(world.statuses_replying_to(str(status["id"]))) == 1
