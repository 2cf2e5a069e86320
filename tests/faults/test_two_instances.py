"""Two instances on one PostgreSQL, fed the same stream: exactly-once all the same."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.store import AccountState, Store
from tests.e2e.harness import BotProcess, Scene, eventually, free_port, scene


def _second_instance(world: Scene, tmp_path: Path) -> BotProcess:
    port = free_port()
    config = Path(world.bot.env["SOCIALBRIDGE_CONFIG"]).read_text()
    config = config.replace(f"http_port = {world.bot.port}", f"http_port = {port}")
    path = tmp_path / "second.toml"
    path.write_text(config)
    env = {**world.bot.env, "SOCIALBRIDGE_CONFIG": str(path), "SOCIALBRIDGE_INSTANCE": "e2e-bot-2"}
    workdir = tmp_path / "second"
    workdir.mkdir()
    second = BotProcess(workdir=workdir, env=env, port=port)
    second.start()
    return second


def _poll_holder(world: Scene) -> str | None:
    store = Store(world.database_url)
    try:
        with store.read() as session:
            state = session.get(AccountState, "acme-mastodon")
            return state.lease_owner if state else None
    finally:
        store.dispose()


@pytest.mark.postgresql_only  # several instances coordinate through PostgreSQL (README)
def test_two_instances_share_the_work_exactly_once_and_take_over_polling(
    tmp_path: Path, db_url: str
) -> None:
    with scene(tmp_path, database_url=db_url) as world:
        second = _second_instance(world, tmp_path)
        try:
            urls = [world.bot.url, second.url]
            senders = [
                world.slack.event_sender(f"{u}/slack/events", world.events.signing_secret)
                for u in urls
            ]
            customer = world.mastodon.add_account("twin", "Twin", domain="remote.example")
            texts = [f"twin-{n:02d} hello" for n in range(30)]
            for text in texts:
                world.mastodon.customer_posts(customer, f"@acme {text}")
            cards = [world.card_for(t) for t in texts]
            for number, card in enumerate(cards[:15]):
                event = world.slack.user_posts(
                    world.channel, world.staff, f"reply {number:02d}", thread_ts=str(card["ts"])
                )
                # The load balancer sends it to one instance; Slack's retry lands on the other.
                assert senders[number % 2].event(event, event_id=f"Ev{number}").status == 200
                retry = senders[(number + 1) % 2].event(event, event_id=f"Ev{number}", retry_num=1)
                assert retry.status == 200
            eventually(lambda: len(world.mastodon.brand_statuses()) >= 15, what="15 replies")
            eventually(lambda: world.bot.health()["queue_depth"] == 0, what="an empty queue")
            holder = _poll_holder(world)
            assert holder in ("e2e-bot", "e2e-bot-2")
            # The holder dies: the other takes over polling once the lease runs out.
            (world.bot if holder == "e2e-bot" else second).kill()
            survivor = second if holder == "e2e-bot" else world.bot
            world.mastodon.customer_posts(customer, "@acme twin-late after the crash")
            world.card_for("twin-late after the crash")
            assert _poll_holder(world) == survivor.env["SOCIALBRIDGE_INSTANCE"]
            cards_seen = Counter(
                t for m in world.slack.messages(world.channel) for t in texts if t in m["text"]
            )
            assert cards_seen == Counter({t: 1 for t in texts})
            bodies = Counter(
                world.posted_text(s).split(" ", 1)[1] for s in world.mastodon.brand_statuses()
            )
            assert bodies == Counter({f"reply {n:02d}": 1 for n in range(15)})
        finally:
            if second.process is not None:
                second.stop()
            if world.bot.process is None:
                world.bot.start()  # so the scene can stop it as usual
