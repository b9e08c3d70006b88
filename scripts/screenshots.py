"""Screenshots of one card of each kind, front and back, for the README (docs/*.png).

Run with `make screenshots`: renders the preview of notes/ and photographs cards in
Debian's Chromium at a phone's width.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import sync_playwright

from deckgen.cli import main

REPO = Path(__file__).resolve().parent.parent
BOTH = ("front", "back")
# (note id, which of its cards, file name, which sides)
CARDS = [
    ("stringindexer-before-onehotencoder", 0, "fact", BOTH),
    ("forgetting-vectorassembler", 0, "trap", BOTH),
    ("ks-vs-chi-squared-vs-jensen-shannon", 0, "pair-compare", BOTH),
    ("ks-vs-chi-squared-vs-jensen-shannon", 3, "pair-which", BOTH),
    ("one-model-per-entity", 0, "scenario", BOTH),
    # Their extra text, on the back: a formula and a picture, and a diagram.
    ("jensen-shannon-symmetric-and-bounded", 0, "picture-and-formula", ("back",)),
    ("blue-green-vs-canary", 0, "picture", ("back",)),
]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main_() -> None:
    out = REPO / "docs"
    out.mkdir(exist_ok=True)
    browser_path = os.environ.get("DECKGEN_CHROMIUM") or shutil.which("chromium")
    if not browser_path:
        sys.exit("no Chromium: run scripts/ensure-chromium")
    with tempfile.TemporaryDirectory() as site:
        result = CliRunner().invoke(main, ["preview", str(REPO / "notes"), "-o", site])
        if result.exit_code:
            sys.exit(result.output)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=FLAGS)
            page = browser.new_page(viewport={"width": 400, "height": 1600})
            page.goto((Path(site) / "index.html").as_uri())
            taken = 0
            for note_id, index, name, wanted in CARDS:
                sides = page.locator(f"#note-{note_id} .pv-sides").nth(index)
                for side, label in enumerate(BOTH):
                    if label in wanted:
                        card = sides.locator(".card").nth(side)
                        card.screenshot(path=out / f"{name}-{label}.png")
                        taken += 1
            browser.close()
    print(f"Wrote {taken} screenshots to {out}")


if __name__ == "__main__":
    main_()
