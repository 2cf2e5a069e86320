"""The command line: check, db upgrade, clear config errors, a graceful stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import col, select

from bot.jobkinds import REWRITE_ERASED
from bot.sandbox.mastodon_api import FakeMastodon
from bot.sandbox.slack_api import FakeSlack
from bot.store import Conversation, Job, Message, Store
from tests.e2e.harness import config_text, eventually, free_port, scene

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _check_env(
    tmp_path: Path, slack: FakeSlack, mastodon: FakeMastodon, channel: str, token: str
) -> dict[str, str]:
    config = tmp_path / "socialbridge.toml"
    config.write_text(
        config_text(port=free_port(), mastodon_url=mastodon.base_url, channel=channel)
    )
    return {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.api_url,
        "SOCIALBRIDGE_CONFIG": str(config),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.db'}",
        "ACME_MASTODON_TOKEN": token,
    }


def test_check_prints_a_table_and_succeeds_when_everything_answers(tmp_path: Path) -> None:
    with FakeSlack() as slack, FakeMastodon() as mastodon:
        channel = slack.add_channel("social")
        result = _run(
            ["check"], _check_env(tmp_path, slack, mastodon, channel, mastodon.token), tmp_path
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "account acme-mastodon" in result.stdout and "@acme" in result.stdout
    assert "FAIL" not in result.stdout


def test_check_fails_on_a_bad_token_and_a_channel_without_the_bot(tmp_path: Path) -> None:
    with FakeSlack() as slack, FakeMastodon() as mastodon:
        channel = slack.add_channel("social", is_member=False)
        env = _check_env(tmp_path, slack, mastodon, channel, "wrong-token-123456")
        result = _run(["check"], env, tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("account acme-mastodon" in line and "FAIL" in line for line in lines)
    assert any(f"channel {channel}" in line and "not a member" in line for line in lines)
    assert "wrong-token-123456" not in result.stdout + result.stderr
    assert slack.token not in result.stdout + result.stderr


def test_a_config_mistake_stops_with_one_line_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[slack]\nmood = "socket"\n')
    result = _run(["run"], {"SOCIALBRIDGE_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "bad.toml" in result.stderr and "'mood'" in result.stderr


def test_db_upgrade_creates_the_schema_on_a_fresh_database(tmp_path: Path) -> None:
    result = _run(["db", "upgrade"], {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new.db").exists()


def test_sigterm_stops_the_bot_cleanly(tmp_path: Path) -> None:
    with scene(tmp_path) as world:
        assert world.bot.stop() == 0
        assert "stopped" in world.bot.log()


def _rewrites_done(database_url: str) -> list[Job]:
    store = Store(database_url)
    try:
        with store.read() as session:
            jobs = list(session.exec(select(Job).where(col(Job.kind) == REWRITE_ERASED)))
    finally:
        store.dispose()
    return jobs if jobs and all(job.state == "done" for job in jobs) else []


def _stored_texts(database_url: str) -> str:
    """Every text, name and link the bot keeps of its conversations, as one string."""
    store = Store(database_url)
    try:
        with store.read() as session:
            messages = session.exec(select(Message)).all()
            conversations = session.exec(select(Conversation)).all()
    finally:
        store.dispose()
    return repr(
        [(m.text, m.author_name, m.author_handle, m.author_url, m.remote_url) for m in messages]
        + [(c.author_name, c.author_handle) for c in conversations]
    )


def test_forget_erases_a_customer_from_the_store_and_rewrites_their_slack_messages(
    tmp_path: Path,
) -> None:
    with scene(tmp_path) as world:
        alice = world.mastodon.add_account("alice", "Alice Liddell", domain="remote.example")
        first = world.mastodon.customer_posts(alice, "@acme my order 1234 never arrived")
        card = world.card_for("my order 1234 never arrived")
        world.mastodon.customer_posts(
            alice, "@acme I live at 5 Rabbit Hole Lane", in_reply_to_id=first["id"]
        )
        [follow_up] = eventually(
            lambda: world.slack.thread(world.channel, card["ts"]), what="the follow-up"
        )
        eventually(lambda: world.card_updates(card["ts"]), what="the card's update for it")
        carol = world.mastodon.add_account("carol", "Carol", domain="remote.example")
        world.mastodon.customer_posts(carol, "@acme is the shop open on Sunday?")
        other = world.card_for("is the shop open on Sunday?")

        result = _run(["forget", "@alice@remote.example"], world.bot.env, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "erased 2 messages and the names of 1 conversations" in result.stdout
        assert "2 Slack messages will be rewritten" in result.stdout

        assert len(eventually(lambda: _rewrites_done(world.database_url), what="rewrites")) == 2
        stored = _stored_texts(world.database_url)
        for personal in ("1234", "Rabbit Hole", "Alice", "alice"):
            assert personal not in stored
        assert "is the shop open on Sunday?" in stored
        for ts in (card["ts"], follow_up["ts"]):
            shown = world.slack.message(world.channel, ts)
            assert shown is not None and "was erased" in str(shown["blocks"])
            for personal in ("1234", "Rabbit Hole", "Alice", "alice"):
                assert personal not in str(shown)
        assert len(world.card_updates(follow_up["ts"])) == 1
        rewritten = [u for u in world.card_updates(card["ts"]) if "was erased" in str(u)]
        assert len(rewritten) == 1
        assert world.card_updates(other["ts"]) == []
        untouched = world.slack.message(world.channel, other["ts"])
        assert untouched is not None and "open on Sunday?" in untouched["text"]
