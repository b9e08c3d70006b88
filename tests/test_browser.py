"""The preview in a real browser (Debian's Chromium, driven by Playwright): laptop and phone
widths, light and night mode, nothing overflowing, and a filter box that filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, load
from playwright.sync_api import Browser, Page

from deckgen import stats
from deckgen.cli import main

SCREENSHOTS = REPO / "dist" / "preview" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("preview")
    result = CliRunner().invoke(main, ["preview", str(REPO / "notes"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out / "index.html"


def open_page(browser: Browser, site: Path, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(site.as_uri())
    return page


@pytest.mark.parametrize("night", [False, True], ids=["light", "night"])
@pytest.mark.parametrize("width", [1280, 375])
def test_nothing_overflows(browser: Browser, site: Path, width: int, night: bool) -> None:
    page = open_page(browser, site, width)
    if night:
        page.click("#night")
    background = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
    assert background == ("rgb(34, 39, 46)" if night else "rgb(255, 255, 255)")

    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('.card')]
            .filter((card) => card.scrollWidth > card.clientWidth + 1)
            .map((card) => card.closest('article').id)"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{width}-{'night' if night else 'light'}.png")
    page.close()


def shown(page: Page) -> tuple[int, str]:
    count = page.evaluate("document.querySelectorAll('article.pv-note:not([hidden])').length")
    return count, page.inner_text("#shown")


def test_the_filter_box_filters(browser: Browser, site: Path) -> None:
    deck = load(REPO / "notes")
    cards = stats.cards_by(deck)
    page = open_page(browser, site, 1280)
    assert shown(page) == (deck.size, f"{sum(cards.values())} cards shown")

    page.fill("#filter", "kind:trap")
    traps = sum(n for (_, kind), n in cards.items() if kind == "trap")
    assert shown(page) == (traps, f"{traps} cards shown")

    page.fill("#filter", "tag:topic::drift domain:mlops kind:pair")
    expected = [
        r.note_id
        for r in deck.records()
        if r.kind == "pair" and r.domain == "mlops" and "topic::drift" in r.tags
    ]
    visible = page.evaluate(
        "[...document.querySelectorAll('article.pv-note:not([hidden])')].map((n) => n.id)"
    )
    assert visible == [f"note-{note_id}" for note_id in expected] and expected

    page.fill("#filter", "vectorassembler")
    count, _ = shown(page)
    assert 0 < count < deck.size

    page.fill("#filter", "no-such-words-anywhere")
    assert shown(page) == (0, "0 cards shown")
    assert page.evaluate("document.querySelectorAll('section.pv-domain:not([hidden])').length") == 0
    page.close()
