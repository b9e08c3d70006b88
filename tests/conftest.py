"""Shared helpers: the repo's notes in a scratch folder, builds, and real Anki collections."""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportResponse
from playwright.sync_api import Browser, sync_playwright

from deckgen import package
from deckgen.build import DEFAULTS, Options, prepare, write
from deckgen.diagnostics import has_errors
from deckgen.load import load as load_notes
from deckgen.notetypes import NoteType
from deckgen.records import Deck

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    """A copy of the repo's notes that a test may edit."""
    return Path(shutil.copytree(REPO / "notes", tmp_path / "notes"))


def load(notes_dir: Path) -> Deck:
    loaded = load_notes(notes_dir)
    assert loaded.deck is not None, [str(p) for p in loaded.problems]
    assert not has_errors(loaded.problems)
    return loaded.deck


def build(
    notes_dir: Path,
    out: Path,
    now: float,
    options: Options = DEFAULTS,
    note_types: Mapping[str, NoteType] | None = None,
) -> Deck:
    """Build a package at a given time, as `deckgen build` would, and update the lock
    (except the repo's own, which a test must not change). The deck's note types,
    unless given."""
    made, problems = prepare(notes_dir, int(now), options, note_types)
    assert made is not None and not has_errors(problems), [str(p) for p in problems]
    if notes_dir.resolve() == (REPO / "notes").resolve():
        package.write(made.deck, made.revision, out, made.note_types)
    else:
        write(made, out)
    return made.deck


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[Collection]:
    """A fresh, empty Anki collection."""
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        yield col
    finally:
        col.close()


def import_package(col: Collection, apkg: Path) -> ImportResponse.Log:
    """Import as a user would, with Anki's default options; return Anki's import log."""
    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request).log


def visible(rendered: str) -> str:
    """The text a learner sees: no stylesheet, no tags, entities decoded, spaces collapsed."""
    body = rendered.split("</style>", 1)[-1]
    inline = re.sub(r"</?(?:span|code|strong|em)\b[^>]*>", "", body)
    text = re.sub(r"<[^>]+>", " ", inline)
    return " ".join(html.unescape(text).split())


def write_notes(folder: Path, files: dict[str, str]) -> Path:
    """A notes folder made of the given files (a default deck.yaml unless one is given,
    whose domains are those with notes: a domain with none is warned of)."""
    folder.mkdir(parents=True, exist_ok=True)
    deck = DECK_YAML if "general.yaml" in files else DECK_YAML.replace(GENERAL, "")
    files = {"deck.yaml": deck, **files}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


GENERAL = "  - {key: general, name: Exam Strategy}\n"
DECK_YAML = f"""\
name: Test deck
key: test-deck
domains:
  - {{key: mlops, name: MLOps, weight: 44}}
{GENERAL}"""

# One note of each kind, a three-item pair and a two-cloze fact among them.
ONE_OF_EACH = {
    "mlops.yaml": """\
- id: refresh
  fact: Drift metrics are computed on {{c1::REFRESH}}, not {{c2::continuously}}
- id: ks-on-categorical
  trap: Applying the KS test to categorical features
  reality: Use Chi-squared.
- id: three-tests
  pair:
    - {name: KS test, means: numerical features only}
    - {name: Chi-squared test, means: categorical features only}
    - {name: Jensen-Shannon divergence, means: 'both, bounded [0,1]'}
  difference: Which feature types each one handles.
- id: dev-to-prod
  scenario: How to move a pipeline to production?
  answer: Promote the code.
  distractor: Promote the model artifact.
  why_not: It embeds dev data characteristics.
""",
    "general.yaml": "- id: timing\n  fact: '{{c1::59}} questions in 120 minutes'\n",
}


# Flags for a closed network: no background fetches, no first-run or sync traffic.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = os.environ.get("DECKGEN_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "no Chromium: install Debian's package (apt-get install chromium), as `make test`"
            " does, or set DECKGEN_CHROMIUM to a Chromium or Chrome executable"
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (the browser tests')."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()
