"""Claim and close by reaction and by button; the card's status line follows in place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.store import Conversation
from tests.e2e.harness import Scene, eventually, scene


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(tmp_path_factory.mktemp("triage")) as running:
        running.slack.add_member(running.channel, running.slack.add_user("eve", id="U0EVE"))
        yield running


def _card(world: Scene, handle: str, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}")
    return status, world.card_for(text)


def _react(
    world: Scene,
    card: dict[str, Any],
    user: str,
    name: str,
    *,
    added: bool = True,
    ts: str | None = None,
) -> None:
    target = ts or str(card["ts"])
    if added:
        event = world.slack.user_reacts(world.channel, target, user, name)
    else:
        event = world.slack.user_unreacts(world.channel, target, user, name)
    assert world.events.event(event).status == 200


def _state(
    world: Scene, card: dict[str, Any], check: Callable[[Conversation], bool]
) -> Conversation:
    return eventually(
        lambda: c if check(c := world.conversation(str(card["ts"]))) else None,
        what="the conversation's state",
    )


def _last_status_line(world: Scene, card: dict[str, Any], expected: str) -> str:
    def find() -> str | None:
        updates = world.card_updates(str(card["ts"]))
        if updates and expected in str(updates[-1]["blocks"]):
            return str(updates[-1]["blocks"])
        return None

    return eventually(find, what=f"a card update saying {expected!r}")


def test_claim_reclaim_and_unclaim_by_reaction(world: Scene) -> None:
    _status, card = _card(world, "rita", "my invoice is wrong")
    _react(world, card, world.staff, "eyes")
    _state(world, card, lambda c: c.assignee == world.staff and c.status == "claimed")
    _last_status_line(world, card, f"Claimed by <@{world.staff}>")
    _react(world, card, "U0EVE", "eyes")
    _state(world, card, lambda c: c.assignee == "U0EVE")
    _last_status_line(world, card, "Claimed by <@U0EVE>")
    # Dana removing her earlier reaction does not unassign Eve; Eve removing hers does.
    _react(world, card, world.staff, "eyes", added=False)
    _react(world, card, "U0EVE", "eyes", added=False)
    conversation = _state(world, card, lambda c: c.assignee is None)
    assert conversation.status == "open"
    _last_status_line(world, card, "Open, waiting")


def test_close_and_reopen_by_removing_the_reaction(world: Scene) -> None:
    _status, card = _card(world, "sam", "thanks, all good now")
    _react(world, card, world.staff, "white_check_mark")
    closed = _state(world, card, lambda c: c.status == "closed")
    assert closed.closed_by == world.staff and closed.close_seconds is not None
    _last_status_line(world, card, f"Closed by <@{world.staff}>")
    _react(world, card, world.staff, "white_check_mark", added=False)
    reopened = _state(world, card, lambda c: c.status == "open")
    assert reopened.closed_at is None and reopened.closed_by is None


def test_a_new_inbound_post_reopens_a_closed_conversation_keeping_the_assignee(
    world: Scene,
) -> None:
    status, card = _card(world, "tina", "where is my parcel")
    _react(world, card, world.staff, "eyes")
    _react(world, card, world.staff, "white_check_mark")
    _state(world, card, lambda c: c.status == "closed")
    customer = world.mastodon.add_account("tina2", "Tina", domain="remote.example")
    world.mastodon.customer_posts(customer, "@acme still not here!", in_reply_to_id=status["id"])
    reopened = _state(world, card, lambda c: c.status == "claimed" and c.reopened)
    assert reopened.assignee == world.staff


def test_duplicate_reaction_events_change_nothing_more(world: Scene) -> None:
    _status, card = _card(world, "uma", "double trouble")
    event = world.slack.user_reacts(world.channel, str(card["ts"]), world.staff, "eyes")
    for retry in (None, 1, 2):
        assert world.events.event(event, event_id="Ev0REACTDUP", retry_num=retry).status == 200
    claimed = _state(world, card, lambda c: c.assignee == world.staff)
    _last_status_line(world, card, "Claimed by")
    assert world.conversation(str(card["ts"])).claimed_at == claimed.claimed_at
    assert len(world.card_updates(str(card["ts"]))) == 1


def test_reactions_on_thread_replies_and_by_bots_are_ignored(world: Scene) -> None:
    status, card = _card(world, "vic", "question about prices")
    customer = world.mastodon.add_account("vic2", "Vic", domain="remote.example")
    world.mastodon.customer_posts(customer, "@acme and shipping?", in_reply_to_id=status["id"])
    reply = eventually(lambda: world.slack.thread(world.channel, str(card["ts"])), what="reply")
    _react(world, card, world.staff, "eyes", ts=str(reply[0]["ts"]))
    bot = world.slack.add_user("otherbot", is_bot=True)
    _react(world, card, bot, "white_check_mark")
    # A later, valid reaction is processed after the ignored ones (events run in order
    # per delivery here), so the state it leaves proves the others changed nothing.
    _react(world, card, world.staff, "white_check_mark")
    conversation = _state(world, card, lambda c: c.status == "closed")
    assert conversation.assignee is None and conversation.closed_by == world.staff


def _press(world: Scene, card: dict[str, Any], action: str, user: str) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "x", "team_id": world.slack.team_id},
        "container": {"type": "message", "message_ts": card["ts"], "channel_id": world.channel},
        "channel": {"id": world.channel, "name": "social"},
        "message": {"ts": card["ts"], "type": "message"},
        "actions": [
            {
                "action_id": f"conversation_{action}",
                "block_id": "actions",
                "type": "button",
                "action_ts": "1",
            }
        ],
    }
    assert world.events.action(payload).status == 200


def test_buttons_claim_unclaim_close_and_reopen(world: Scene) -> None:
    _status, card = _card(world, "wes", "buttons please")
    assert "conversation_claim" in str(card["blocks"])
    _press(world, card, "claim", "U0EVE")
    _state(world, card, lambda c: c.assignee == "U0EVE")
    blocks = _last_status_line(world, card, "Claimed by <@U0EVE>")
    assert "conversation_unclaim" in blocks
    _press(world, card, "unclaim", world.staff)
    _state(world, card, lambda c: c.assignee is None)
    _press(world, card, "close", world.staff)
    _state(world, card, lambda c: c.status == "closed")
    assert "conversation_reopen" in _last_status_line(world, card, "Closed by")
    _press(world, card, "reopen", world.staff)
    _state(world, card, lambda c: c.status == "open")


def test_a_burst_of_changes_makes_at_most_two_card_updates(world: Scene) -> None:
    _status, card = _card(world, "xena", "burst")
    fay = world.slack.add_user("fay")
    _react(world, card, world.staff, "eyes")
    _react(world, card, "U0EVE", "eyes")
    _react(world, card, world.staff, "white_check_mark")
    _react(world, card, world.staff, "white_check_mark", added=False)
    _react(world, card, fay, "eyes")

    # Slack's events may be handled in any order; wait for the five to be applied, then
    # for the card to show whatever state they left.
    def card_shows_final_state() -> bool:
        final = world.conversation(str(card["ts"]))
        updates = world.card_updates(str(card["ts"]))
        return bool(
            _settled(world)
            and updates
            and f"Claimed by <@{final.assignee}>" in str(updates[-1]["blocks"])
        )

    eventually(card_shows_final_state, what="the card to show the final state")
    assert 1 <= len(world.card_updates(str(card["ts"]))) <= 2


def _settled(world: Scene) -> bool:
    return bool(world.bot.health()["queue_depth"] == 0)


def _command(world: Scene, text: str, user: str | None = None) -> dict[str, Any]:
    url = world.slack.new_response_url()
    delivery = world.events.command(
        "/social", text, user_id=user or world.staff, channel_id=world.channel, response_url=url
    )
    assert delivery.status == 200
    answers = eventually(lambda: world.slack.responses(url), what=f"/social {text}")
    return dict(answers[0])


def test_social_stats_counts_the_conversations_and_answers_ephemerally(world: Scene) -> None:
    _card(world, "yara", "stats please")
    answer = _command(world, "stats today")
    assert answer["response_type"] == "ephemeral"
    assert "stats" in answer["text"].lower() or "opened" in str(answer["blocks"]).lower()
    public = _command(world, "stats 7d public")
    assert public["response_type"] == "in_channel"


def test_social_open_and_mine_list_conversations_with_permalinks(world: Scene) -> None:
    _status, card = _card(world, "zoe", "mine mine mine")
    _react(world, card, "U0EVE", "eyes")
    _state(world, card, lambda c: c.assignee == "U0EVE")
    mine = _command(world, "mine", user="U0EVE")
    assert str(card["ts"]).replace(".", "") in str(mine["blocks"])
    everything = _command(world, "open")
    assert "zoe" in str(everything["blocks"]).lower()


def test_an_unknown_subcommand_gets_help_not_silence(world: Scene) -> None:
    answer = _command(world, "frobnicate")
    assert "frobnicate" in str(answer) and "stats" in str(answer)
