"""The loopback fakes behave as the documented APIs do (they are only worth what that's worth)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.http import LoopbackServer, Request, Response
from bot.sandbox.mastodon_api import FakeMastodon
from bot.sandbox.slack_api import FakeSlack

SECRET = "sandbox-signing-secret"


class SignedReceiver(LoopbackServer):
    """Stands in for the bot's POST /slack/events: checks the signature as Bolt does."""

    def dispatch(self, request: Request) -> Response:
        verifier = SignatureVerifier(SECRET)
        valid = verifier.is_valid(
            body=request.body.decode(),
            timestamp=request.header("x-slack-request-timestamp"),
            signature=request.header("x-slack-signature"),
        )
        return Response.of_json({"valid": valid}, status=200 if valid else 401)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[SignedReceiver]:
    with SignedReceiver() as server:
        yield server


def client(slack: FakeSlack, timeout: int = 5) -> WebClient:
    web = WebClient(token=slack.token, base_url=slack.api_url, timeout=timeout)
    web.retry_handlers = []
    return web


def mastodon_client(fake: FakeMastodon) -> httpx.Client:
    auth = {"Authorization": f"Bearer {fake.token}"}
    return httpx.Client(base_url=fake.base_url, headers=auth, trust_env=False)


# --- Mastodon ---------------------------------------------------------------------------


def test_mastodon_min_id_gives_the_page_right_after_it_newest_first(
    mastodon: FakeMastodon,
) -> None:
    bob = mastodon.add_account("bob", "Bob", domain="remote.example")
    ids = [mastodon.customer_posts(bob, f"question {i}")["id"] for i in range(5)]
    first = mastodon.notifications()[-1]["id"]
    with mastodon_client(mastodon) as http:
        page = http.get("/api/v1/notifications", params={"min_id": first, "limit": 2})
    assert [n["status"]["id"] for n in page.json()] == [ids[2], ids[1]]
    links = page.headers["link"]
    assert f"max_id={page.json()[-1]['id']}" in links and 'rel="next"' in links
    assert f"min_id={page.json()[0]['id']}" in links and 'rel="prev"' in links


def test_mastodon_since_id_gives_the_newest_page_and_types_filter(
    mastodon: FakeMastodon,
) -> None:
    bob = mastodon.add_account("bob")
    statuses = [mastodon.customer_posts(bob, f"question {i}") for i in range(4)]
    mastodon.add_notification("favourite", bob, statuses[0])
    oldest = mastodon.notifications()[-1]["id"]
    with mastodon_client(mastodon) as http:
        newest = http.get("/api/v1/notifications", params={"since_id": oldest, "limit": 2})
        mentions = http.get("/api/v1/notifications", params={"types[]": "mention"})
    assert [n["type"] for n in newest.json()] == ["favourite", "mention"]
    assert {n["type"] for n in mentions.json()} == {"mention"} and len(mentions.json()) == 4


def test_mastodon_idempotency_key_returns_the_same_status_and_creates_nothing(
    mastodon: FakeMastodon,
) -> None:
    bob = mastodon.add_account("bob", domain="remote.example")
    question = mastodon.customer_posts(bob, "where is my parcel?")
    body = {"status": "@bob@remote.example on its way", "in_reply_to_id": question["id"]}
    with mastodon_client(mastodon) as http:
        first = http.post("/api/v1/statuses", data=body, headers={"Idempotency-Key": "job-1"})
        again = http.post("/api/v1/statuses", json=body, headers={"Idempotency-Key": "job-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(mastodon.brand_statuses()) == 1
    assert mastodon.statuses_replying_to(question["id"])[0]["mentions"][0]["acct"] == (
        "bob@remote.example"
    )


def test_mastodon_hang_after_accept_posts_although_the_client_timed_out(
    mastodon: FakeMastodon,
) -> None:
    mastodon.faults.hang("POST /api/v1/statuses", 1.0)
    with mastodon_client(mastodon) as http, pytest.raises(httpx.ReadTimeout):
        http.post("/api/v1/statuses", data={"status": "hello"}, timeout=0.2)
    assert [s["content"] for s in mastodon.brand_statuses()] == ["<p>hello</p>"]


def test_mastodon_429_fault_tells_when_to_come_back(mastodon: FakeMastodon) -> None:
    mastodon.faults.fail("GET /api/v1/notifications", status=429, retry_after=2)
    with mastodon_client(mastodon) as http:
        limited = http.get("/api/v1/notifications")
        fine = http.get("/api/v1/notifications")
    assert limited.status_code == 429 and limited.json() == {"error": "Too many requests"}
    assert limited.headers["retry-after"] == "2"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.headers["x-ratelimit-reset"].endswith("Z")
    assert fine.status_code == 200 and int(fine.headers["x-ratelimit-remaining"]) < 300


def test_mastodon_validates_like_mastodon(mastodon: FakeMastodon) -> None:
    mastodon.max_characters = 20
    with mastodon_client(mastodon) as http:
        too_long = http.post("/api/v1/statuses", data={"status": "x" * 21})
        a_link_counts_23 = http.post(
            "/api/v1/statuses", data={"status": "https://e.xample/" + "a" * 50}
        )
        unknown_parent = http.post("/api/v1/statuses", data={"status": "hi", "in_reply_to_id": "1"})
    wrong_token = httpx.get(
        f"{mastodon.base_url}/api/v1/notifications",
        headers={"Authorization": "Bearer nope"},
        trust_env=False,
    )
    assert too_long.status_code == 422
    assert too_long.json() == {"error": "Validation failed: Text character limit of 20 exceeded"}
    assert a_link_counts_23.status_code == 422
    assert unknown_parent.status_code == 404
    assert wrong_token.status_code == 401
    assert wrong_token.json() == {"error": "The access token is invalid"}


def test_mastodon_content_is_html_as_mastodon_renders_it(mastodon: FakeMastodon) -> None:
    bob = mastodon.add_account("bob", domain="remote.example")
    url = "https://example.com/orders/1234567890/details?id=1&x=2"
    status = mastodon.customer_posts(bob, f"<b>late</b> & sad\nsee {url}\n\nbye")
    assert status["content"] == (
        f'<p><span class="h-card" translate="no"><a href="{mastodon.base_url}/@acme" '
        'class="u-url mention">@<span>acme</span></a></span> &lt;b&gt;late&lt;/b&gt; &amp; sad'
        '<br />see <a href="https://example.com/orders/1234567890/details?id=1&amp;x=2" '
        'target="_blank" rel="nofollow noopener" translate="no">'
        '<span class="invisible">https://</span>'
        '<span class="ellipsis">example.com/orders/1234567890/</span>'
        '<span class="invisible">details?id=1&amp;x=2</span></a></p><p>bye</p>'
    )
    assert mastodon.notifications()[0]["status"]["id"] == status["id"]


# --- Slack Web API ----------------------------------------------------------------------


def test_slack_metadata_comes_back_only_with_include_all_metadata(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    web = client(slack)
    metadata = {"event_type": "socialbridge_message", "event_payload": {"key": "k1"}}
    parent = web.chat_postMessage(channel=channel, text="parent", metadata=metadata)
    web.api_call(  # form-encoded, metadata as a JSON string, as the docs allow
        "chat.postMessage",
        params={
            "channel": channel,
            "text": "reply",
            "thread_ts": parent["ts"],
            "metadata": json.dumps(metadata),
        },
    )
    plain = web.conversations_history(channel=channel)["messages"]
    full = web.conversations_history(channel=channel, include_all_metadata=True)["messages"]
    replies = web.conversations_replies(channel=channel, ts=parent["ts"], include_all_metadata=True)
    assert "metadata" not in plain[0]
    assert full[0]["metadata"] == metadata and full[0]["reply_count"] == 1
    assert [m["text"] for m in replies["messages"]] == ["parent", "reply"]
    assert replies["messages"][1]["metadata"] == metadata


def test_slack_429_fault_answers_ratelimited_with_retry_after(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    slack.faults.fail("chat.postMessage", status=429, retry_after=3)
    with pytest.raises(SlackApiError) as caught:
        client(slack).chat_postMessage(channel=channel, text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "3"
    assert caught.value.response.data == {"ok": False, "error": "ratelimited"}
    assert client(slack).chat_postMessage(channel=channel, text="hi")["ok"]


def test_slack_channel_rate_limit_allows_a_burst_then_429s(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    slack.rate_limit_channels(per_second=1.0, burst=2)
    web = client(slack)
    web.chat_postMessage(channel=channel, text="one")
    web.chat_postMessage(channel=channel, text="two")
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel=channel, text="three")
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert slack.rate_limited_count == 1
    assert [m["text"] for m in slack.messages(channel)] == ["one", "two"]


def test_slack_hang_after_accept_posts_the_message(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    slack.faults.hang("chat.postMessage", 3.0)
    with pytest.raises(TimeoutError):
        client(slack, timeout=1).chat_postMessage(channel=channel, text="landed")
    assert [m["text"] for m in slack.messages(channel)] == ["landed"]
    assert slack.calls("chat.postMessage")[0].fault == "hang-after-action"


def test_slack_rejects_a_wrong_token_and_unknown_methods(slack: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        wrong.auth_test()
    assert caught.value.response["error"] == "invalid_auth"
    assert client(slack).auth_test()["user_id"] == "UBOT"
    with pytest.raises(SlackApiError) as unknown:
        client(slack).api_call("chat.levitate")
    assert unknown.value.response["error"] == "unknown_method"


def test_slack_human_edits_keep_history_and_events_consistent(slack: FakeSlack) -> None:
    channel = slack.add_channel("social")
    alice = slack.add_user("alice", channels=[channel])
    parent = client(slack).chat_postMessage(channel=channel, text="card")
    posted = slack.user_posts(channel, alice, "We will fix it", thread_ts=parent["ts"])
    changed = slack.user_edits(channel, posted["ts"], "We fixed it")
    assert posted["thread_ts"] == parent["ts"] and posted["parent_user_id"] == "UBOT"
    assert changed["subtype"] == "message_changed"
    assert changed["message"]["text"] == "We fixed it"
    assert changed["previous_message"]["text"] == "We will fix it"
    assert [m["text"] for m in slack.thread(channel, parent["ts"])] == ["We fixed it"]
    deleted = slack.user_deletes(channel, posted["ts"])
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == posted["ts"]
    assert slack.thread(channel, parent["ts"]) == []


# --- Slack delivering to the bot --------------------------------------------------------


def test_sent_events_verify_with_slack_sdk_and_bad_ones_do_not(
    slack: FakeSlack, receiver: SignedReceiver
) -> None:
    channel = slack.add_channel("social")
    alice = slack.add_user("alice", channels=[channel])
    sender = slack.event_sender(f"{receiver.base_url}/slack/events", SECRET)
    event = slack.user_posts(channel, alice, "hello")
    assert sender.event(event).status == 200
    redelivered = sender.event(event, event_id="Ev1", retry_num=1)
    assert redelivered.status == 200
    assert sender.event(event, bad_signature=True).status == 401
    assert sender.event(event, stale=True).status == 401
    envelope = receiver.requests()[1]
    assert envelope.params["type"] == "event_callback" and envelope.params["event_id"] == "Ev1"
    assert envelope.params["event"]["text"] == "hello"
    assert envelope.headers["x-slack-retry-num"] == "1"


def test_slash_command_is_form_encoded_and_its_response_url_records(
    slack: FakeSlack, receiver: SignedReceiver
) -> None:
    sender = slack.event_sender(f"{receiver.base_url}/slack/events", SECRET)
    assert sender.command("/social", "stats", "U1", "C1").status == 200
    form = urllib.parse.parse_qs(receiver.requests()[0].body.decode())
    assert form["command"] == ["/social"] and form["text"] == ["stats"]
    response_url = form["response_url"][0]
    answer = httpx.post(response_url, json={"text": "3 open"}, trust_env=False)
    assert answer.status_code == 200 and slack.responses(response_url) == [{"text": "3 open"}]
    assert sender.action({"user": {"id": "U1"}, "actions": []}).status == 200
    payload = json.loads(urllib.parse.parse_qs(receiver.requests()[1].body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["team"]["id"] == "T0SANDBOX"


# --- the shared server ------------------------------------------------------------------


def test_outage_answers_every_route_until_it_ends(slack: FakeSlack) -> None:
    slack.faults.outage(True)
    with pytest.raises(SlackApiError) as caught:
        client(slack).auth_test()
    assert caught.value.response.status_code == 500
    slack.faults.outage(False)
    assert client(slack).auth_test()["ok"]


def test_a_stopped_fake_refuses_and_comes_back_on_the_same_port(mastodon: FakeMastodon) -> None:
    url = f"{mastodon.base_url}/api/v2/instance"
    with httpx.Client(trust_env=False) as http:
        assert http.get(url).status_code == 200
        mastodon.stop()
        with pytest.raises(httpx.TransportError):
            http.get(url)
        mastodon.start()
        assert http.get(url).status_code == 200
