"""The per-channel pacer, on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from bot.pacing import RATE_MARGIN, ChannelPacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


INTERVAL = 1.0 / RATE_MARGIN  # one post per second, paced a little under


def test_a_slot_is_held_while_the_post_is_in_flight_however_long_it_takes() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=1, clock=clock)
    assert pacer.try_take("C1")
    clock.now += 30  # Slack has not answered yet
    assert not pacer.try_take("C1")
    assert pacer.paused() == (["C1"], None)  # only the answer can free it


def test_the_slot_frees_one_interval_after_slack_answered_not_after_it_was_taken() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=1, clock=clock)
    assert pacer.try_take("C1")
    clock.now += 0.7  # the post was slow on its way: Slack counted it only now
    pacer.answered("C1")
    clock.now += INTERVAL - 0.01
    assert not pacer.try_take("C1")
    paused, wait = pacer.paused()
    assert paused == ["C1"]
    assert wait == pytest.approx(0.01)
    clock.now += 0.01
    assert pacer.try_take("C1")


def test_a_429_quiets_the_whole_channel_for_retry_after() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=3, clock=clock)
    assert pacer.try_take("C1")
    pacer.answered("C1")
    pacer.penalize("C1", 5.0)
    clock.now += 4.9
    assert not pacer.try_take("C1")
    assert pacer.try_take("C2")  # other channels keep moving
    clock.now += 0.1
    assert pacer.try_take("C1")


def test_per_second_is_the_burst_and_each_slot_cools_down_on_its_own() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=2, clock=clock)
    assert pacer.try_take("C1") and pacer.try_take("C1")
    assert not pacer.try_take("C1")
    pacer.answered("C1")
    clock.now += 0.25
    pacer.answered("C1")
    clock.now += 1.0 / (2 * RATE_MARGIN) - 0.25
    assert pacer.try_take("C1")
    assert not pacer.try_take("C1")
    clock.now += 0.25
    assert pacer.try_take("C1")


def test_idle_channels_are_forgotten() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=1, clock=clock)
    assert pacer.try_take("C1")
    pacer.answered("C1")
    clock.now += INTERVAL
    assert pacer.paused() == ([], None)
