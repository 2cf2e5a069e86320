"""Who speaks for the brand: guests, other workspaces' people and former members may not
answer, claim or ask /social; membership events take effect on the next message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import say
from bot.sandbox.mastodon_api import FakeMastodon
from tests.e2e.harness import Scene, eventually, scene

CHANNEL_B = "C0SBCHANB"
SECOND_ACCOUNT = """
[[accounts]]
name = "second-mastodon"
network = "mastodon"
server = "{url}"
token_env = "SECOND_MASTODON_TOKEN"
channel = "{channel}"
poll_seconds = 0.2
"""
GUEST_NOTICE = "guests and people from other workspaces"
NOT_A_MEMBER = say("command.not_a_member", command="/social")


@pytest.fixture(scope="module")
def second() -> Iterator[FakeMastodon]:
    """The Mastodon server of the account routed to channel B."""
    with FakeMastodon(rate_limit=None) as server:
        yield server


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, second: FakeMastodon) -> Iterator[Scene]:
    """Channel A (acme-mastodon, `world.channel`) and channel B (second-mastodon)."""
    with scene(
        tmp_path_factory.mktemp("speakers"),
        extra_accounts=SECOND_ACCOUNT.format(url=second.base_url, channel=CHANNEL_B),
        extra_env={"SECOND_MASTODON_TOKEN": second.token},
    ) as running:
        running.slack.add_channel("social-b", id=CHANNEL_B)
        yield running


def _card(world: Scene, handle: str, text: str) -> tuple[str, dict[str, Any]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}")
    return str(status["id"]), world.card_for(text)


def _card_in_b(world: Scene, second: FakeMastodon, handle: str, text: str) -> dict[str, Any]:
    customer = second.add_account(handle, handle.title(), domain="remote.example")
    second.customer_posts(customer, f"@acme {text}")
    card = eventually(
        lambda: next((m for m in world.slack.messages(CHANNEL_B) if text in m["text"]), None),
        what=f"a card in channel B containing {text!r}",
    )
    eventually(lambda: world.find_conversation(str(card["ts"])), what="the card recorded")
    return card


def _member(world: Scene, name: str, *channels: str, **kind: Any) -> str:
    """A person who joins `channels` as Slack tells it: a member_joined_channel event
    each (the bot caches who is in a channel)."""
    user = world.slack.add_user(name, **kind)
    for channel in channels:
        assert world.events.event(world.slack.user_joins(channel, user)).status == 200
    return user


def _reply(world: Scene, card: dict[str, Any], user: str, text: str) -> None:
    event = world.slack.user_posts(world.channel, user, text, thread_ts=str(card["ts"]))
    assert world.events.event(event).status == 200


def _notices(world: Scene, card: dict[str, Any]) -> list[str]:
    return [
        str(m["text"])
        for m in world.slack.thread(world.channel, str(card["ts"]))
        if m.get("bot_id") and "Not sent" in m["text"]
    ]


def _wait_for_notices(world: Scene, card: dict[str, Any], count: int) -> list[str]:
    def enough() -> list[str] | None:
        found = _notices(world, card)
        return found if len(found) >= count else None

    return eventually(enough, what=f"{count} notices in the thread")


def _sent(world: Scene, status_id: str, count: int) -> list[str]:
    """Wait for `count` public replies to the status and for the queue to drain, then
    return what every reply said (so a late extra one shows)."""
    eventually(
        lambda: (
            len(world.statuses_replying_to(status_id)) >= count
            and world.bot.health()["queue_depth"] == 0
        ),
        what=f"{count} replies on Mastodon",
    )
    return [world.posted_text(r) for r in world.statuses_replying_to(status_id)]


def test_a_guests_thread_reply_is_refused_with_a_notice(world: Scene) -> None:
    status_id, card = _card(world, "gina", "guests welcome?")
    guest = _member(world, "guest", world.channel, is_restricted=True)
    single = _member(world, "single", world.channel, is_ultra_restricted=True)
    _reply(world, card, guest, "I am a guest")
    _reply(world, card, single, "I am a single-channel guest")
    notices = _wait_for_notices(world, card, 2)
    assert len(notices) == 2 and all(GUEST_NOTICE in n for n in notices)
    _reply(world, card, world.staff, "The team answers.")  # proves the refused ones stay out
    assert _sent(world, status_id, 1) == ["@gina@remote.example The team answers."]
    assert len(_notices(world, card)) == 2


def test_a_slack_connect_users_reply_is_refused(world: Scene) -> None:
    status_id, card = _card(world, "hugo", "who is on the line?")
    partner = _member(world, "partner", world.channel, team_id="T0PARTNER")
    event = world.slack.user_posts(world.channel, partner, "I work elsewhere", card["ts"])
    assert event["user_team"] == "T0PARTNER"
    assert world.events.event(event).status == 200
    assert GUEST_NOTICE in _wait_for_notices(world, card, 1)[0]
    _reply(world, card, world.staff, "We do.")
    assert _sent(world, status_id, 1) == ["@hugo@remote.example We do."]
    assert len(_notices(world, card)) == 1


def test_a_member_who_left_the_channel_is_refused_on_the_very_next_reply(world: Scene) -> None:
    status_id, card = _card(world, "ivan", "still there?")
    leaver = _member(world, "leaver", world.channel)
    _reply(world, card, leaver, "First answer.")  # a member: goes out, and fills the cache
    assert _sent(world, status_id, 1) == ["@ivan@remote.example First answer."]
    assert world.events.event(world.slack.user_leaves(world.channel, leaver)).status == 200
    _reply(world, card, leaver, "Second answer, after leaving.")
    assert "only members of this channel" in _wait_for_notices(world, card, 1)[0]
    _reply(world, card, world.staff, "Third answer.")
    assert _sent(world, status_id, 2) == [
        "@ivan@remote.example First answer.",
        "@ivan@remote.example Third answer.",
    ]


def test_a_member_made_a_guest_is_refused_on_the_very_next_reply(world: Scene) -> None:
    status_id, card = _card(world, "kurt", "still a colleague?")
    demoted = _member(world, "demoted", world.channel)
    _reply(world, card, demoted, "As staff.")  # goes out, and caches who they are
    assert _sent(world, status_id, 1) == ["@kurt@remote.example As staff."]
    changed = world.slack.user_changes(demoted, is_restricted=True)
    assert world.events.event(changed).status == 200
    _reply(world, card, demoted, "As a guest.")
    assert GUEST_NOTICE in _wait_for_notices(world, card, 1)[0]
    _reply(world, card, world.staff, "As staff again.")
    assert _sent(world, status_id, 2) == [
        "@kurt@remote.example As staff.",
        "@kurt@remote.example As staff again.",
    ]


def test_someone_added_to_the_channel_may_answer_at_once(world: Scene) -> None:
    status_id, card = _card(world, "jana", "anyone new?")
    newcomer = world.slack.add_user("newcomer")
    _reply(world, card, newcomer, "Before joining.")  # refused, and the cache says so
    assert "only members of this channel" in _wait_for_notices(world, card, 1)[0]
    joined = world.slack.user_joins(world.channel, newcomer, inviter=world.staff)
    assert world.events.event(joined).status == 200
    _reply(world, card, newcomer, "After joining.")
    assert _sent(world, status_id, 1) == ["@jana@remote.example After joining."]
    assert len(_notices(world, card)) == 1


def _press_claim(world: Scene, card: dict[str, Any], user: str) -> None:
    team = world.slack.users[user].team_id or world.slack.team_id
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "x", "team_id": team},
        "container": {"type": "message", "message_ts": card["ts"], "channel_id": world.channel},
        "channel": {"id": world.channel, "name": "social"},
        "message": {"ts": card["ts"], "type": "message"},
        "actions": [
            {
                "action_id": "conversation_claim",
                "block_id": "actions",
                "type": "button",
                "action_ts": "1",
            }
        ],
    }
    # The bot handles an interaction before it answers (process_before_response), so the
    # 200 means whatever the press changes is stored.
    assert world.events.action(payload).status == 200


def test_a_non_member_pressing_claim_changes_nothing(world: Scene) -> None:
    _status_id, card = _card(world, "kira", "claim me")
    stranger = world.slack.add_user("stranger")
    guest = _member(world, "visitor", world.channel, is_restricted=True)
    partner = _member(world, "ally", world.channel, team_id="T0PARTNER")
    otherbot = _member(world, "otherbot", world.channel, is_bot=True)
    for user in (stranger, guest, partner, otherbot):
        _press_claim(world, card, user)
    untouched = world.conversation(str(card["ts"]))
    assert (untouched.status, untouched.assignee) == ("open", None)
    _press_claim(world, card, world.staff)
    eventually(
        lambda: world.conversation(str(card["ts"])).assignee is not None,
        what="the member's claim",
    )
    claimed = world.conversation(str(card["ts"]))
    assert (claimed.status, claimed.assignee) == ("claimed", world.staff)


def _command(world: Scene, text: str, user: str) -> dict[str, Any]:
    url = world.slack.new_response_url()
    delivery = world.events.command(
        "/social", text, user_id=user, channel_id=world.channel, response_url=url
    )
    assert delivery.status == 200
    answers = eventually(lambda: world.slack.responses(url), what=f"/social {text}")
    assert len(answers) == 1
    return dict(answers[0])


def test_social_open_from_a_non_member_is_refused(world: Scene) -> None:
    _card(world, "lena", "not for strangers")
    stranger = world.slack.add_user("passerby")
    guest = _member(world, "onlooker", world.channel, is_restricted=True)
    for user in (stranger, guest):
        answer = _command(world, "open", user)
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] == NOT_A_MEMBER
        assert "lena" not in str(answer)


def test_social_open_and_mine_list_only_the_askers_channels(
    world: Scene, second: FakeMastodon
) -> None:
    _status_id, card_a = _card(world, "mona", "channel a question")
    card_b = _card_in_b(world, second, "nils", "channel b question")
    only_b = _member(world, "bea", CHANNEL_B)
    both = _member(world, "cleo", world.channel, CHANNEL_B)
    answer_a = str(_command(world, "open", world.staff)["blocks"])
    assert "mona" in answer_a and "nils" not in answer_a
    answer_b = str(_command(world, "open", only_b)["blocks"])
    assert "nils" in answer_b and "mona" not in answer_b
    for channel, card in ((world.channel, card_a), (CHANNEL_B, card_b)):
        event = world.slack.user_reacts(channel, str(card["ts"]), both, "eyes")
        assert world.events.event(event).status == 200
    eventually(
        lambda: all(world.conversation(str(c["ts"])).assignee == both for c in (card_a, card_b)),
        what="cleo's claims",
    )
    assert "nils" in str(_command(world, "mine", both)["blocks"])
    assert world.events.event(world.slack.user_leaves(CHANNEL_B, both)).status == 200
    mine = str(_command(world, "mine", both)["blocks"])
    assert "mona" in mine and "nils" not in mine


def test_with_allow_guests_guests_and_slack_connect_people_answer(tmp_path: Path) -> None:
    with scene(
        tmp_path, extra_slack="channel_posts_per_second = 100\nallow_guests = true"
    ) as world:
        status_id, card = _card(world, "olga", "guests allowed here")
        guest = world.slack.add_user("guest", is_restricted=True, channels=[world.channel])
        partner = world.slack.add_user("partner", team_id="T0PARTNER", channels=[world.channel])
        _reply(world, card, guest, "A guest answers.")
        assert _sent(world, status_id, 1) == ["@olga@remote.example A guest answers."]
        _reply(world, card, partner, "A partner answers.")
        assert _sent(world, status_id, 2) == [
            "@olga@remote.example A guest answers.",
            "@olga@remote.example A partner answers.",
        ]
        assert _notices(world, card) == []
