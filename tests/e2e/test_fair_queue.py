"""A conversation flooding its thread does not hold back another customer's card (issue 9
item 7): the bot as a process, Slack enforcing 1 message/s per channel, judged by the order
of the posts in the fake Slack's log, never by seconds."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import eventually, scene

FLOOD = 16  # follow-ups waiting in one thread; at 1 message/s the test takes about 20 s


def test_a_new_card_is_not_held_back_by_a_flooding_thread(tmp_path: Path) -> None:
    with scene(tmp_path, extra_slack="channel_posts_per_second = 1") as world:
        world.slack.rate_limit_channels(1.0, burst=1)
        flooder = world.mastodon.add_account("flooder", "Flooder", domain="remote.example")
        root = world.mastodon.customer_posts(flooder, "@acme flood-root")
        card = world.card_for("flood-root")
        world.bot.stop()  # the flood and the newcomer queue up together while it is away
        for number in range(FLOOD):
            world.mastodon.customer_posts(
                flooder, f"@acme flood-{number:02d}", in_reply_to_id=root["id"]
            )
        newcomer = world.mastodon.add_account("newcomer", "Newcomer", domain="remote.example")
        world.mastodon.customer_posts(newcomer, "@acme newcomer-card")
        world.bot.start()

        def posted() -> list[str]:
            return [
                str(call.params.get("text"))
                for call in world.slack.calls("chat.postMessage")
                if call.ok
                and (
                    "flood-" in str(call.params.get("text"))
                    or "newcomer-card" in str(call.params.get("text"))
                )
            ]

        eventually(
            lambda: world.bot.health()["queue_depth"] == 0 and len(posted()) == FLOOD + 2,
            timeout=90,
            what="the flood and the newcomer's card delivered",
        )
        order = [
            "newcomer" if "newcomer-card" in text else text.split("flood-")[1].split()[0]
            for text in posted()[1:]  # after the flooded conversation's own card
        ]
        follow_ups = [f"{number:02d}" for number in range(FLOOD)]
        # Threads already going come first, for a short run only: three follow-ups, then
        # the new card, then the rest of the flood, in order.
        assert order == [*follow_ups[:3], "newcomer", *follow_ups[3:]]
        thread = world.slack.thread(world.channel, card["ts"])
        assert [m["text"].split("flood-")[1].split()[0] for m in thread] == follow_ups
        cards = [m for m in world.slack.messages(world.channel) if "newcomer-card" in m["text"]]
        assert len(cards) == 1
        assert world.slack.rate_limited_count == 0
