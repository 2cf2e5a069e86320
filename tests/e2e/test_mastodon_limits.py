"""Mastodon's instance limits are read by the poll, never inside a Slack request, and a
reply that no longer fits when its undo window ends is refused in one sentence."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from bot.jobkinds import SEND_REPLY
from bot.sandbox.mastodon_api import FakeMastodon
from bot.sandbox.slack_api import FakeSlack
from bot.store import Job, Store
from tests.e2e.harness import eventually, scene

INSTANCE = "GET /api/v2/instance"


def _reply_jobs_done(database_url: str) -> bool:
    store = Store(database_url)
    try:
        with store.read() as session:
            jobs = session.exec(select(Job).where(col(Job.kind) == SEND_REPLY)).all()
            return bool(jobs) and all(job.state == "done" for job in jobs)
    finally:
        store.dispose()


def _answered(mastodon: FakeMastodon) -> int:
    return sum(1 for call in mastodon.calls(INSTANCE) if call.response is not None)


def test_a_slack_reply_never_waits_on_the_instance_endpoint(tmp_path: Path) -> None:
    with scene(tmp_path) as world:
        eventually(lambda: _answered(world.mastodon), what="the poll reading the limits")
        # From now on the instance endpoint hangs; a listener that asked it would hang too.
        world.mastodon.faults.hang(INSTANCE, 30, count=None)
        asked = len(world.mastodon.calls(INSTANCE))
        customer = world.mastodon.add_account("uma", "Uma", domain="remote.example")
        status = world.mastodon.customer_posts(customer, "@acme where is my parcel?")
        card = world.card_for("where is my parcel?")
        world.reply_in_thread(card, "On its way, Uma")
        replies = eventually(lambda: world.statuses_replying_to(str(status["id"])), what="reply")
        assert [world.posted_text(r) for r in replies] == ["@uma@remote.example On its way, Uma"]
        assert len(world.mastodon.calls(INSTANCE)) == asked


def test_a_reply_that_stops_fitting_in_its_undo_window_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    def instance_down(_slack: FakeSlack, mastodon: FakeMastodon) -> None:
        mastodon.faults.fail(INSTANCE, status=503, count=None)

    with scene(tmp_path, send_delay=5.0, before_start=instance_down) as world:
        customer = world.mastodon.add_account("vera", "Vera", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme tell me everything")
        card = world.card_for("tell me everything")
        # Fits Mastodon's stock 500 (the instance has not answered yet): accepted.
        world.reply_in_thread(card, "x" * 400)
        world.mastodon.max_characters = 300
        world.mastodon.faults.clear()
        eventually(lambda: _answered(world.mastodon), what="the poll reading the new limit")

        def notices() -> list[str]:
            return [
                str(m["text"])
                for m in world.slack.thread(world.channel, str(card["ts"]))
                if m.get("bot_id") and "Not sent" in str(m.get("text", ""))
            ]

        eventually(notices, timeout=30, what="the refusal in the thread")
        # The end state: the reply's job finished (refused), nothing left to send or say.
        eventually(lambda: _reply_jobs_done(world.database_url), what="the reply's job done")
        said = notices()
        assert said == [
            ":no_entry: Not sent: Mastodon allows 300 characters and this reply has 406."
            " Shorten it and send it again."
        ]
        assert world.mastodon.brand_statuses() == []
