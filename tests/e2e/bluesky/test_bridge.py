"""Bluesky <-> Slack end to end: the bot as a process between the fake Slack and Bluesky's
reference implementation (PDS + AppView from @atproto/dev-env), both over loopback HTTP."""

from __future__ import annotations

from bot.store import Store
from bot.store import accounts as account_store
from tests.e2e.bluesky.world import ACCOUNT, World
from tests.e2e.harness import eventually

# Ten graphemes in 50 UTF-8 bytes: a skin-toned thumb, a flag, a family, an e with a
# combining accent, two CJK characters, a letter, a smiley, a dash and a bang.
TEN_GRAPHEMES = "👍🏽🇩🇪👨\u200d👩\u200d👧e\u0301日本a😀-!"


def test_a_mention_becomes_a_card_with_its_author_and_a_link_to_the_post(world: World) -> None:
    customer, post, card = world.mention("alice", "my order 1234 never arrived")
    blocks = str(card["blocks"])
    assert customer.handle in blocks
    assert f"https://bsky.app/profile/{customer.handle}/post/{post.rkey}" in blocks


def test_a_thread_reply_appears_under_the_customers_post_on_the_appview(world: World) -> None:
    _customer, post, card = world.mention("bob", "is the shop open on Sunday?")
    world.scene.reply_in_thread(card, "Yes, from 10 to 4.")
    reply = world.wait_for_our_reply(post)
    record = reply["record"]
    assert record["text"] == "Yes, from 10 to 4."
    assert record["reply"]["root"] == {"uri": post.uri, "cid": post.cid}
    assert record["reply"]["parent"] == {"uri": post.uri, "cid": post.cid}


def test_a_follow_up_deep_in_a_thread_joins_its_conversation(world: World) -> None:
    customer, first, card = world.mention("carol", "where is my refund?")
    world.scene.reply_in_thread(card, "Checking, one moment.")
    ours = world.devenv.ref(world.wait_for_our_reply(first)["uri"])
    second = world.devenv.post(customer, "It has been two weeks.", reply_to=ours)
    eventually(
        lambda: any("two weeks" in t for t in world.followups(card)), what="the first follow-up"
    )
    world.scene.reply_in_thread(card, "It left our bank today.")
    ours = world.devenv.ref(world.wait_for_our_reply(second)["uri"])
    third = world.devenv.post(customer, "Got it, thanks!", reply_to=ours)
    eventually(
        lambda: any("Got it, thanks!" in t for t in world.followups(card)), what="the second one"
    )
    world.scene.reply_in_thread(card, "You're welcome.")
    record = world.wait_for_our_reply(third)["record"]
    assert record["reply"]["parent"]["uri"] == third.uri
    assert record["reply"]["root"] == {"uri": first.uri, "cid": first.cid}
    cards = [
        m for m in world.scene.slack.messages(world.scene.channel) if customer.handle in str(m)
    ]
    assert len(cards) == 1


def test_people_answering_our_own_post_each_get_a_conversation(world: World) -> None:
    announcement = world.devenv.post(world.brand, "We are open on Sunday from now on!")
    hank, ivy = world.devenv.create_account("hank"), world.devenv.create_account("ivy")
    hanks = world.devenv.post(hank, "Great, what about holidays?", reply_to=announcement)
    world.devenv.post(ivy, "Finally! Is the café open too?", reply_to=announcement)
    card = world.scene.card_for("what about holidays?")
    assert world.scene.card_for("Is the café open too?")["ts"] != card["ts"]
    world.scene.reply_in_thread(card, "Closed on holidays, sorry.")
    record = world.wait_for_our_reply(hanks)["record"]
    assert record["reply"]["root"] == {"uri": announcement.uri, "cid": announcement.cid}


def test_an_emoji_heavy_reply_of_exactly_300_graphemes_goes_out(world: World) -> None:
    _customer, post, card = world.mention("dave", "send me all the emoji")
    text = TEN_GRAPHEMES * 30
    world.scene.reply_in_thread(card, text)
    assert world.wait_for_our_reply(post)["record"]["text"] == text


def test_a_reply_of_301_graphemes_is_refused_with_the_limit_and_the_count(world: World) -> None:
    _customer, post, card = world.mention("erin", "one more emoji please")
    world.scene.reply_in_thread(card, TEN_GRAPHEMES * 30 + "😀")
    notice = eventually(
        lambda: [t for t in world.followups(card) if "Not sent" in t], what="the refusal"
    )
    assert "300" in notice[0] and "301" in notice[0]
    assert world.our_replies(post) == []


def test_a_link_and_a_mention_in_our_reply_become_facets(world: World) -> None:
    customer, post, card = world.mention("frank", "how do I track my parcel?")
    world.scene.reply_in_thread(
        card,
        f"😀 Track it at https://acme.example/track/1234. Thanks @{customer.handle}!",
        typed=True,
    )
    record = world.devenv.record(world.wait_for_our_reply(post)["uri"])["value"]
    text = record["text"].encode("utf-8")
    features = {
        text[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in record["facets"]
    }
    assert features["https://acme.example/track/1234"] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": "https://acme.example/track/1234",
    }
    assert features[f"@{customer.handle}"] == {
        "$type": "app.bsky.richtext.facet#mention",
        "did": customer.did,
    }


def test_a_restart_reuses_the_stored_session_and_loses_no_mention(world: World) -> None:
    before = _stored_session(world)
    world.scene.bot.stop()
    customer = world.devenv.create_account("gina")
    world.devenv.post(customer, f"@{world.brand.handle} hello while you slept", mention=world.brand)
    world.scene.bot.start()
    world.scene.card_for("hello while you slept")
    assert _stored_session(world) == before  # no second createSession


def _stored_session(world: World) -> str | None:
    store = Store(world.scene.database_url)
    try:
        return account_store.get(store, ACCOUNT).session_json
    finally:
        store.dispose()
