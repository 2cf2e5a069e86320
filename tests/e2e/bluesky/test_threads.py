"""Watched threads on the reference network: posts that notify nobody (a customer adding to
their own post, a third person answering them) still reach the card's thread, once."""

from __future__ import annotations

from tests.e2e.bluesky.world import World
from tests.e2e.harness import eventually


def test_a_follow_up_to_their_own_post_without_a_mention_reaches_the_thread_once(
    world: World,
) -> None:
    customer, post, card = world.mention("olga", "my order never arrived")
    world.devenv.post(customer, "here is the order number: 4711", reply_to=post)
    world.wait_for_followup(card, "order number: 4711")
    world.scene.settle()
    world.wait_for_watch_rounds(3)
    world.scene.settle()
    assert sum("order number: 4711" in t for t in world.followups(card)) == 1
    assert world.inbound_authors(card) == [customer.did, customer.did]


def test_a_third_persons_answer_to_the_customer_is_mirrored_once(world: World) -> None:
    customer, post, card = world.mention("pablo", "is the blue jacket back in stock?")
    friend = world.devenv.create_account("quinn")
    world.devenv.post(friend, "I got mine last week, try the app", reply_to=post)
    world.wait_for_followup(card, "try the app")
    world.devenv.post(customer, "thanks, found it in the app", reply_to=post)
    world.wait_for_followup(card, "found it in the app")
    world.scene.settle()
    assert sum("try the app" in t for t in world.followups(card)) == 1
    assert world.inbound_authors(card) == [customer.did, friend.did, customer.did]


def test_our_own_reply_in_a_watched_thread_is_not_mirrored_back(world: World) -> None:
    customer, post, card = world.mention("rosa", "do you ship to Norway?")
    world.scene.reply_in_thread(card, "We do, in 3 to 5 days.")
    world.wait_for_our_reply(post)
    # A later post in the same thread: once it is in, the watch has read our reply too.
    world.devenv.post(customer, "great, ordering now", reply_to=post)
    world.wait_for_followup(card, "ordering now")
    world.scene.settle()
    assert not any("3 to 5 days" in t for t in world.followups(card))
    assert world.brand.did not in world.inbound_authors(card)


def test_a_closed_conversation_is_no_longer_watched(world: World) -> None:
    closed_customer, closed_post, closed_card = world.mention("sven", "wrong size delivered")
    world.close(closed_card)
    _customer, open_post, open_card = world.mention("tove", "wrong colour delivered")
    world.devenv.post(closed_customer, "never mind, I kept it", reply_to=closed_post)
    # Written after the other, in a thread still watched: when this one is in, a watch
    # round has read the AppView since the closed thread's follow-up was indexed.
    world.devenv.post(_customer, "the order is 5150", reply_to=open_post)
    world.wait_for_followup(open_card, "the order is 5150")
    world.wait_for_watch_rounds(3)
    world.scene.settle()
    assert not any("kept it" in t for t in world.followups(closed_card))
    assert world.scene.conversation(str(closed_card["ts"])).status == "closed"


def test_a_deleted_root_ends_its_watch_without_an_error(world: World) -> None:
    customer, post, card = world.mention("ulla", "please delete my account")
    before = len(world.scene.bot.log())
    world.devenv.delete(customer, post)
    eventually(lambda: _gone(world, post.uri), what="the AppView to forget the post")
    world.wait_for_watch_rounds(3)
    world.scene.settle()
    log = world.scene.bot.log()[before:]
    assert "Traceback" not in log and "reading thread" not in log
    assert log.count(f"thread {post.uri} was deleted; it is no longer watched") == 1
    assert world.scene.conversation(str(card["ts"])).status == "open"


def _gone(world: World, uri: str) -> bool:
    response = world.devenv.http.get(
        f"{world.devenv.appview}/xrpc/app.bsky.feed.getPostThread", params={"uri": uri}
    )
    return response.status_code == 400


def test_fifty_open_conversations_cost_at_most_twenty_thread_reads_per_poll(
    world: World,
) -> None:
    before = world.thread_reads()
    customers = [world.mention(f"bulk{n}", f"bulk question number {n:02d}") for n in range(50)]
    for n, (customer, post, _card) in enumerate(customers):
        world.devenv.post(customer, f"bulk detail number {n:02d}", reply_to=post)
    for n, (_customer, _post, card) in enumerate(customers):
        world.wait_for_followup(card, f"bulk detail number {n:02d}")
    world.scene.settle()
    after = world.thread_reads()
    polls = after["+Inf"] - before.get("+Inf", 0)
    at_most_twenty = after["20.0"] - before.get("20.0", 0)
    at_most_nineteen = after["19.0"] - before.get("19.0", 0)
    assert polls > 0 and at_most_twenty == polls  # no poll read more than the budget
    assert at_most_nineteen < polls  # and the budget was reached: it is what held
    for n, (_customer, _post, card) in enumerate(customers):
        assert sum(f"bulk detail number {n:02d}" in t for t in world.followups(card)) == 1
