"""SpeakerPolicy over the real Web API client against the loopback FakeSlack: the cases the
end-to-end tests do not reach (one team field alone differing, Enterprise Grid, Slack
failing, a members answer that a leave event overtook)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.config import SlackSettings
from bot.sandbox.slack_api import FakeSlack
from bot.slack.api import SlackApi
from bot.speakers import Refusal, SpeakerPolicy

GUEST: Refusal = ("reply.guest_not_allowed", {})


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(enterprise_id="E0ORG") as fake:
        yield fake


def policy(slack: FakeSlack, *, allow_guests: bool = False) -> tuple[SpeakerPolicy, SlackApi]:
    api = SlackApi(WebClient(token=slack.token, base_url=slack.api_url, timeout=5))
    return SpeakerPolicy(SlackSettings(allow_guests=allow_guests), api), api


def test_a_member_from_this_workspace_may_speak(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    member = slack.add_user("dana", channels=[channel])
    speakers, _ = policy(slack)
    assert speakers.reply_refusal(channel=channel, user=member, user_team=slack.team_id) is None
    assert speakers.may_triage(channel=channel, user=member)
    # a channel Slack does not know (the bot was removed) hides nothing else
    assert speakers.member_channels(member, [channel, "C0GONE"]) == {channel}


def test_the_events_user_team_alone_marks_another_workspace(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    member = slack.add_user("dana", channels=[channel])  # users.info: this workspace
    speakers, _ = policy(slack)
    assert speakers.reply_refusal(channel=channel, user=member, user_team="T0PARTNER") == GUEST
    assert not speakers.may_triage(channel=channel, user=member, user_team="T0PARTNER")


def test_users_info_team_alone_marks_another_workspace(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    partner = slack.add_user("pat", team_id="T0PARTNER", channels=[channel])
    speakers, _ = policy(slack)
    assert speakers.reply_refusal(channel=channel, user=partner) == GUEST
    assert speakers.member_channels(partner, [channel]) == frozenset()


def test_another_workspace_of_the_same_grid_org_counts_as_home(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    sibling = slack.add_user("sib", team_id="T0SIBLING", enterprise_id="E0ORG", channels=[channel])
    stranger = slack.add_user(
        "str", team_id="T0ELSE", enterprise_id="E0OTHERORG", channels=[channel]
    )
    speakers, _ = policy(slack)
    assert speakers.reply_refusal(channel=channel, user=sibling, user_team="T0SIBLING") is None
    assert speakers.reply_refusal(channel=channel, user=stranger, user_team="T0ELSE") == GUEST


def test_allow_guests_lets_guests_and_other_workspaces_speak(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    guest = slack.add_user("gus", is_ultra_restricted=True, channels=[channel])
    partner = slack.add_user("pat", team_id="T0PARTNER", channels=[channel])
    outsider = slack.add_user("out")
    speakers, _ = policy(slack, allow_guests=True)
    assert speakers.reply_refusal(channel=channel, user=guest) is None
    assert speakers.reply_refusal(channel=channel, user=partner, user_team="T0PARTNER") is None
    assert speakers.reply_refusal(channel=channel, user=outsider) == (
        "reply.not_allowed",
        {"allow_list": ""},
    )


def test_when_slack_cannot_say_who_someone_is_the_reply_is_refused(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    member = slack.add_user("dana", channels=[channel])
    slack.faults.fail("users.info", status=500, count=2)
    speakers, _ = policy(slack)
    refusal = speakers.reply_refusal(channel=channel, user=member)
    assert refusal is not None and refusal[0] == "reply.not_verified"
    assert not speakers.may_triage(channel=channel, user=member)


def test_a_members_answer_overtaken_by_a_leave_event_is_not_cached(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    leaver = slack.add_user("lee", channels=[channel])
    _, api = policy(slack)
    slack.faults.hang("conversations.members", 1.0)  # answers what it saw, a second late
    seen: list[bool] = []
    asking = threading.Thread(target=lambda: seen.append(api.is_channel_member(channel, leaver)))
    asking.start()
    slack.wait_for(lambda: slack.requests("conversations.members"))
    slack.remove_member(channel, leaver)
    api.membership_changed(channel, leaver, joined=False)  # the member_left_channel event
    asking.join(10)
    assert seen == [True]  # asked before the leave: the old answer, once
    assert api.is_channel_member(channel, leaver) is False
    assert len(slack.requests("conversations.members")) == 2
