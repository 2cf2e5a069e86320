"""The demo page in a real browser: Debian's Chromium, driven by Playwright for Python,
against `socialbridge demo` running as its own process.

One customer's conversation is the story: a mention becomes a card, a reply in its thread
becomes a public reply under the post, claim and close change the card, `/social stats`
counts it. Each step is a module fixture (so any test can run alone) and each test saves a
screenshot: to $SOCIALBRIDGE_SCREENSHOTS when set (docs/ holds the last set), else to a
temporary folder named in the test output.

Chromium is the system's (`apt-get install chromium`); `playwright install` is never run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.demo.demo_process import DemoProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1440, "height": 900}
WAIT_MS = 20_000  # a poll (1 s), the outbox, the undo window (5 s) and the page's poll (1 s)

CUSTOMER = "alice@mastodon.example"
MENTION = "my order #4711 never arrived, can you help?"
REPLY = "So sorry, Alice! It left our warehouse today: https://acme.example/track/4711"


def require_chromium(path: Path = CHROMIUM) -> str:
    """The browser's path; a clear failure (never a skip) when it is not installed."""
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} is missing: the browser tests drive Debian's Chromium. Install it with "
            "`apt-get install chromium` (never `playwright install`).",
            pytrace=False,
        )
    return str(path)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("SOCIALBRIDGE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {path}")
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    running = DemoProcess(workdir=tmp_path_factory.mktemp("demo-browser"))
    running.start()
    yield running
    assert running.stop() == 0, running.log()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, demo: DemoProcess) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[arg-type]
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(demo.url)
    expect(opened.get_by_test_id("bot-status")).to_contain_text("bot running", timeout=WAIT_MS)
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def card_for(page: Page, text: str) -> Locator:
    return page.get_by_test_id("channel").get_by_test_id("card").filter(has_text=text)


def toot_for(page: Page, text: str) -> Locator:
    return page.get_by_test_id("timeline").get_by_test_id("toot").filter(has_text=text)


def post_as_customer(page: Page, customer: str, text: str) -> None:
    form = page.get_by_test_id("post-form")
    form.get_by_test_id("customer").select_option(customer)
    form.get_by_test_id("post-text").fill(text)
    form.get_by_test_id("post-send").click()


def show_channel(page: Page) -> None:
    back = page.locator("#thread-back")
    if back.is_visible():
        back.click()


# --- the story, one step per fixture ----------------------------------------------------


@pytest.fixture(scope="module")
def card(page: Page) -> Locator:
    post_as_customer(page, CUSTOMER, MENTION)
    found = card_for(page, MENTION)
    expect(found).to_be_visible(timeout=WAIT_MS)
    return found


@pytest.fixture(scope="module")
def answered(page: Page, card: Locator, shots: Path) -> Locator:
    card.get_by_test_id("open-thread").click()
    page.get_by_test_id("thread-input").fill(REPLY)
    page.get_by_test_id("thread-input").press("Enter")
    reply_state = page.get_by_test_id("thread").get_by_test_id("reply-state")
    expect(reply_state).to_contain_text("Goes public in", timeout=WAIT_MS)
    page.screenshot(path=shots / "demo-2-reply-queued.png")
    expect(reply_state).to_contain_text("Public on Mastodon", timeout=WAIT_MS)
    return card


@pytest.fixture(scope="module")
def claimed(page: Page, answered: Locator) -> Locator:
    show_channel(page)
    answered.get_by_test_id("react-eyes").click()
    expect(answered.get_by_test_id("status-line")).to_contain_text("claimed", timeout=WAIT_MS)
    return answered


@pytest.fixture(scope="module")
def closed(page: Page, claimed: Locator) -> Locator:
    show_channel(page)
    claimed.get_by_test_id("react-white_check_mark").click()
    expect(claimed.get_by_test_id("status-line")).to_contain_text("Closed", timeout=WAIT_MS)
    return claimed


# --- the story's tests -------------------------------------------------------------------


def test_a_customer_mention_appears_as_a_card_in_the_slack_pane(
    page: Page, card: Locator, shots: Path
) -> None:
    expect(card).to_contain_text("Alice Martin")
    expect(card).to_contain_text("@alice@mastodon.example")
    expect(card.get_by_test_id("status-line")).to_contain_text("Open, waiting")
    expect(toot_for(page, MENTION)).to_be_visible()
    page.screenshot(path=shots / "demo-1-mention.png")


def test_a_thread_reply_appears_under_the_post_with_the_mention(
    page: Page, answered: Locator, shots: Path
) -> None:
    thread = page.get_by_test_id("timeline").locator(".thread-group").filter(has_text=MENTION)
    brand_reply = thread.get_by_test_id("brand-reply")
    expect(brand_reply).to_have_count(1)
    expect(brand_reply).to_contain_text("@alice")
    expect(brand_reply).to_contain_text("It left our warehouse today")
    expect(brand_reply).to_contain_text("in reply to @alice@mastodon.example")
    expect(answered.get_by_test_id("status-line")).to_contain_text("Answered")
    page.screenshot(path=shots / "demo-3-reply-public.png")


def test_claiming_with_eyes_changes_the_status_line(
    page: Page, claimed: Locator, shots: Path
) -> None:
    expect(claimed.get_by_test_id("status-line")).to_contain_text("claimed by @Dana")
    expect(claimed.locator(".reaction.mine")).to_contain_text("👀")
    page.screenshot(path=shots / "demo-4-claimed.png")


def test_closing_with_a_check_mark_changes_the_status_line(
    page: Page, closed: Locator, shots: Path
) -> None:
    expect(closed.get_by_test_id("status-line")).to_contain_text(
        re.compile(r"Closed by @Dana after \d+ (s|min)")
    )
    page.screenshot(path=shots / "demo-5-closed.png")


def test_social_stats_shows_the_conversation(page: Page, closed: Locator, shots: Path) -> None:
    show_channel(page)
    page.get_by_test_id("channel-input").fill("/social stats")
    page.get_by_test_id("channel-input").press("Enter")
    answer = page.get_by_test_id("command-answer").filter(has_text="/social stats")
    expect(answer).to_contain_text("Only visible to you", timeout=WAIT_MS)
    expect(answer).to_contain_text("Social stats, last 7 days", timeout=WAIT_MS)
    expect(answer).to_contain_text(re.compile(r"Conversations opened\s*1"))
    expect(answer).to_contain_text(re.compile(r"Replies sent\s*1"))
    expect(answer).to_contain_text("Dana: replies 1, claims 1, closes 1")
    answer.scroll_into_view_if_needed()
    page.screenshot(path=shots / "demo-6-stats.png")


# --- what the page must never do ------------------------------------------------------------


def test_markup_in_a_post_stays_text_in_both_panes(page: Page) -> None:
    show_channel(page)
    attack = '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> <!channel> end'
    post_as_customer(page, "ben", attack)
    found = card_for(page, "window.pwned=2")
    expect(found).to_be_visible(timeout=WAIT_MS)
    expect(found).to_contain_text('<img src=x onerror="window.pwned=1">')
    expect(found).to_contain_text("<!channel>")
    assert found.locator("img, script").count() == 0
    assert toot_for(page, "window.pwned=2").locator("img, script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_the_mrkdwn_renderer_links_only_http_and_shows_date_fallbacks(page: Page) -> None:
    rendered = page.evaluate(
        """(text) => {
            const box = document.createElement("div");
            box.append(Mrkdwn.render(text, { userName: (id) => id === "U1" ? "Dana" : null }));
            return {
                text: box.textContent,
                links: [...box.querySelectorAll("a")].map((a) => a.getAttribute("href")),
                elements: box.querySelectorAll("*").length,
            };
        }""",
        "<javascript:alert(1)|click me> <https://ok.example/a|ok> "
        "<!date^1700000000^{date_short}|Nov 14, 2023> &lt;b&gt;hi&lt;/b&gt; &amp;amp; <@U1>",
    )
    assert rendered["links"] == ["https://ok.example/a"]
    assert rendered["text"] == "click me ok Nov 14, 2023 <b>hi</b> &amp; @Dana"


def test_chromium_missing_fails_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install chromium"):
        require_chromium(tmp_path / "chromium")
