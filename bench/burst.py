"""A burst of mentions to one channel, against a fake Slack that enforces Slack's
"about one message per second per channel, short bursts allowed" with 429s.

Measures the time from the first card to the last against the limit's minimum, and the
429s received. Run: python -m bench.burst [--mentions 500]   (writes BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.report import machine, write_section
from tests.e2e.harness import eventually, scene

RATE = 1.0  # messages per second per channel, as Slack documents
BURST = 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=500)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        scene(Path(tmp), extra_slack="channel_posts_per_second = 1") as world,
    ):
        world.slack.rate_limit_channels(RATE, burst=BURST)
        world.bot.stop()
        customer = world.mastodon.add_account("burst", "Burst", domain="remote.example")
        for number in range(args.mentions):
            world.mastodon.customer_posts(customer, f"@acme burst {number:04d}")
        world.bot.start()

        def delivered() -> bool:
            cards = sum("burst " in str(m["text"]) for m in world.slack.messages(world.channel))
            return bool(cards >= args.mentions)

        eventually(delivered, timeout=args.mentions * 3 + 60, what="the whole burst")
        posts = sorted(
            c.time
            for c in world.slack.calls("chat.postMessage")
            if c.ok and "burst " in str(c.params.get("text"))
        )
        limited = world.slack.rate_limited_count
    took = posts[-1] - posts[0]
    minimum = max(0.0, (args.mentions - BURST) / RATE)
    over = (took / minimum - 1) * 100 if minimum else 0.0
    write_section(
        "Burst to one channel",
        f"""
`python -m bench.burst` — {machine()}; {args.mentions} mentions waiting when the bot starts,
all for one channel; the fake Slack enforces {RATE:g} message/s per channel with bursts of
{BURST} (429 + Retry-After beyond that), the bot paces at 1 message/s per channel.

| measure | result | goal |
|---|---|---|
| first card → last card | {took:.1f} s | |
| the limit's minimum ((n − burst) / rate) | {minimum:.1f} s | |
| over the minimum | {over:.1f} % | within 10 % |
| 429s received | {limited} | none after the first |
""",
    )
    print(
        f"{took:.1f} s for {args.mentions} (minimum {minimum:.1f} s, +{over:.1f} %), {limited} 429s"
    )


if __name__ == "__main__":
    main()
