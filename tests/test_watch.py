"""`deckgen preview --watch`: the page served, kept up to date on every save, in a real
browser (Chromium, driven by Playwright); errors shown until fixed; bounded under a save
storm, a folder deleted under it and a file that becomes a FIFO; Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import write_notes
from playwright.sync_api import Browser, Page, expect

from deckgen import watch
from deckgen.diagnostics import Diagnostic

TRAP = """\
- id: rereading
  trap: Re-reading the notes until they feel familiar
  reality: Familiarity is not recall.
"""
MORE = "".join(
    f"- id: fact-{n}\n  fact: Fact {n} says {{{{c1::term {n}}}}} is so\n" for n in range(30)
)


class Watching:
    """preview --watch on a notes folder, in a thread of this process."""

    def __init__(self, notes: Path) -> None:
        self.notes = notes
        self.stop = threading.Event()
        self.address = ""
        self.ready = threading.Event()
        self.reports: list[tuple[list[Diagnostic], int, bool]] = []
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            watch.watch(self.notes, 0, self._report, self._started, self.stop)
        except BaseException as error:
            self.failed = error
            self.ready.set()

    def _report(self, problems: list[Diagnostic], count: int, first: bool) -> None:
        self.reports.append((problems, count, first))

    def _started(self, address: str) -> None:
        self.address = address
        self.ready.set()

    def __enter__(self) -> Watching:
        self.thread.start()
        assert self.ready.wait(60) and self.failed is None, self.failed
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.failed is None, self.failed

    def changes(self, since: int, timeout: float = 30) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.address}changes?since={since}", timeout=timeout) as r:
            answer: dict[str, object] = json.loads(r.read())
            return answer


def _notes(tmp_path: Path) -> Path:
    return write_notes(tmp_path / "notes", {"mlops.yaml": TRAP + MORE})


def _save(path: Path, old: str, new: str) -> None:
    """As an editor saves: the whole file written again."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _open(browser: Browser, address: str) -> Page:
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.goto(address)
    return page


def test_a_save_shows_on_the_page_and_an_error_until_it_is_fixed(
    tmp_path: Path, browser: Browser
) -> None:
    notes = _notes(tmp_path)
    mlops = notes / "mlops.yaml"
    with Watching(notes) as watching:
        page = _open(browser, watching.address)
        card = page.locator("#note-rereading .card").first
        expect(card).to_contain_text("Re-reading the notes until they feel familiar")
        errors = page.locator("#pv-errors")
        expect(errors).to_be_hidden()

        _save(mlops, "until they feel familiar", "until every page feels familiar")
        expect(card).to_contain_text("Re-reading the notes until every page feels familiar")

        _save(mlops, "  trap: Re-reading", "  trapp: Re-reading")  # a misspelt key
        expect(errors).to_be_visible()
        expect(errors).to_contain_text(
            f"{mlops}:2:3: error: unknown key 'trapp' (did you mean 'trap'?) [unknown-key]"
        )
        expect(card).to_contain_text("until every page feels familiar")  # the last good cards

        _save(mlops, "  trapp: Re-reading", "  trap: Re-reading")
        expect(errors).to_be_hidden()
        _save(mlops, "Familiarity is not recall.", "Familiarity is not **recall**.")
        back = page.locator("#note-rereading .card").nth(1)
        expect(back.locator("strong")).to_have_text("recall")
        page.close()
    assert sorted(p.name for p in notes.iterdir()) == ["deck.yaml", "mlops.yaml"]  # no more


def test_the_card_looked_at_stays_in_view(tmp_path: Path, browser: Browser) -> None:
    notes = _notes(tmp_path)
    mlops = notes / "mlops.yaml"
    with Watching(notes) as watching:
        page = _open(browser, watching.address)
        top = "document.getElementById('note-fact-20').getBoundingClientRect().top"
        page.evaluate(f"window.scrollBy(0, {top} - 100)")
        before = page.evaluate(top)
        assert abs(before - 100) <= 2
        version = page.evaluate("document.body.dataset.version")

        # An edit above it that makes a card taller: the card looked at does not move.
        longer = "Fact 3, now written at much greater length, so that its card takes more lines"
        _save(mlops, "Fact 3 says", longer + " than before, says")
        expect(page.locator("#note-fact-3 .card").first).to_contain_text("much greater length")
        expect(page.locator("body")).not_to_have_attribute("data-version", version)
        assert abs(page.evaluate(top) - before) <= 2

        # A note added (the page reloads): still the same card in view.
        added = "- id: fact-new\n  fact: A {{c1::new}} one\n"
        _save(mlops, "- id: fact-29\n", added + "- id: fact-29\n")
        expect(page.locator("#note-fact-new")).to_have_count(1)
        page.wait_for_load_state()
        page.wait_for_function(f"Math.abs({top} - {before}) <= 2", timeout=5000)
        page.close()


def test_the_filter_applies_to_notes_replaced_in_place(tmp_path: Path, browser: Browser) -> None:
    notes = _notes(tmp_path)
    with Watching(notes) as watching:
        page = _open(browser, watching.address)
        page.fill("#filter", "kind:trap")
        expect(page.locator("#shown")).to_have_text("1 cards shown")
        _save(notes / "mlops.yaml", "Familiarity is not recall.", "Familiarity is not memory.")
        expect(page.locator("#note-rereading .card").nth(1)).to_contain_text("not memory")
        expect(page.locator("#shown")).to_have_text("1 cards shown")
        expect(page.locator("#note-fact-1")).to_be_hidden()
        page.close()


def test_only_what_changed_is_rendered_again(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    with Watching(notes) as watching:
        assert watching.reports[0][1:] == (31, True)
        version = 1
        _save(notes / "mlops.yaml", "Fact 7 says", "Fact seven says")
        answer = watching.changes(version)
        assert list(answer["notes"]) == ["fact-7"]  # type: ignore[arg-type]
        assert answer["errors"] == [] and answer["version"] == version + 1
        deadline = time.monotonic() + 10
        while not any(count == 1 and not first for _, count, first in watching.reports):
            assert time.monotonic() < deadline
            time.sleep(0.01)


def test_a_page_far_behind_or_ahead_reloads(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    with Watching(notes) as watching:
        assert watching.changes(10_000, timeout=60)["reload"] is True  # a server restarted
        words = ("Fact 5 says", "Fact 5 now says")
        for n in range(watch.KEPT + 2):
            _save(notes / "mlops.yaml", words[n % 2], words[1 - n % 2])
            assert watching.changes(1 + n)["version"] == 2 + n
        assert watching.changes(1)["reload"] is True  # what it missed is no longer kept


def _rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def test_a_save_storm_is_followed_without_growing(tmp_path: Path) -> None:
    """An editor writing a file 100 times a second, for a few seconds: the page ends at
    the last text, and what the session keeps stays bounded."""
    notes = _notes(tmp_path)
    mlops = notes / "mlops.yaml"
    text = mlops.read_text(encoding="utf-8")
    with Watching(notes) as watching:
        session_before = _rss_kib()
        for n in range(300):
            mlops.write_text(text.replace("Fact 5 says", f"Fact 5 ({n}) says"), encoding="utf-8")
            time.sleep(0.01)
        deadline = time.monotonic() + 30
        while True:
            answer = watching.changes(0)
            if answer.get("reload"):
                with urllib.request.urlopen(watching.address, timeout=30) as page:
                    html = page.read().decode()
                if "Fact 5 (299) says" in html:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _rss_kib() - session_before < 100 * 1024
    assert mlops.read_text(encoding="utf-8").count("(299)") == 1


def test_a_folder_deleted_or_a_file_turned_fifo_is_said_and_survived(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    kept = tmp_path / "kept"
    with Watching(notes) as watching:
        # (Gone at once: deleted a file at a time, the watcher could see it half gone,
        # which is a folder of fewer notes, and answer that first.)
        notes.rename(kept)
        answer = watching.changes(1)
        assert answer["errors"] and "No such file or directory" in str(answer["errors"])
        kept.rename(notes)
        answer = watching.changes(int(answer["version"]))  # type: ignore[call-overload]
        assert answer["errors"] == []

        (notes / "mlops.yaml").unlink()
        os.mkfifo(notes / "mlops.yaml")  # a read of it would wait for ever
        answer = watching.changes(int(answer["version"]))  # type: ignore[call-overload]
        assert f"{notes / 'mlops.yaml'}:1:1: error: this is a FIFO (named pipe)" in str(answer)
    assert watching.reports[-1][0]


def test_too_many_waiting_pages_are_told_to_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "MAX_WAITING", 2)
    monkeypatch.setattr(watch, "WAIT", 3.0)
    notes = _notes(tmp_path)
    with Watching(notes) as watching:
        waiting = [
            threading.Thread(target=watching.changes, args=(1,), daemon=True) for _ in range(2)
        ]
        for thread in waiting:
            thread.start()
        time.sleep(0.5)
        with pytest.raises(urllib.error.HTTPError) as refused:
            watching.changes(1)
        assert refused.value.code == 503
        refused.value.close()
        for thread in waiting:
            thread.join(10)


def test_ctrl_c_stops_it_cleanly_and_nothing_is_written(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    before = {p: p.read_bytes() for p in notes.rglob("*")}
    process = subprocess.Popen(
        [sys.executable, "-m", "deckgen", "preview", "--watch", str(notes)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.endswith(": 31 notes\n")
    serving = process.stdout.readline()
    assert serving.startswith("Serving http://127.0.0.1:") and "(Ctrl-C to stop)" in serving
    address = serving.split()[1]
    with urllib.request.urlopen(address, timeout=30) as page:
        assert "Re-reading the notes" in page.read().decode()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out == "Stopped\n" and err == ""
    assert {p: p.read_bytes() for p in notes.rglob("*")} == before
    assert resource.getrlimit(resource.RLIMIT_NOFILE)  # (the process is gone, its port free)


def test_the_first_note_of_a_declared_type_brings_its_stylesheet(tmp_path: Path) -> None:
    deck = (
        "name: Words\nkey: words\ndomains:\n  - {key: mlops, name: MLOps}\n"
        "note_types:\n  - name: Vocabulary\n    fields: [Word, Meaning]\n"
        "    css: '.card { color: teal; }'\n    templates:\n"
        '      - {name: Recall, front: "{{Word}}", back: "{{Meaning}}"}\n'
    )
    notes = write_notes(tmp_path / "notes", {"deck.yaml": deck, "mlops.yaml": TRAP})
    with Watching(notes) as watching:
        stylesheet = f"{watching.address}assets/cards.css"
        with urllib.request.urlopen(stylesheet, timeout=30) as response:
            assert ".pv-type-vocabulary" not in response.read().decode()
        _save(
            notes / "mlops.yaml",
            TRAP,
            TRAP + "- id: ubiquitous\n  type: Vocabulary\n  Word: ubiquitous\n",
        )
        assert watching.changes(1)["reload"] is True
        with urllib.request.urlopen(stylesheet, timeout=30) as response:
            assert ".pv-type-vocabulary {\n.card { color: teal; }\n}" in response.read().decode()


def test_a_picture_served_runs_no_script_even_opened_on_its_own(tmp_path: Path) -> None:
    """An SVG picture: the page shows it as a picture (no script runs there); served at its
    own address, it is sandboxed, so none would run there either (an SVG that holds a
    script is refused by the check; this holds whatever the check lets by)."""
    notes = _notes(tmp_path)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>'
    (notes / "drawn.svg").write_bytes(svg)
    mlops = notes / "mlops.yaml"
    mlops.write_text(
        mlops.read_text(encoding="utf-8")
        + "- id: drawn\n  fact: 'A {{c1::drawing}} ![drawn](drawn.svg)'\n",
        encoding="utf-8",
    )
    with Watching(notes) as watching:
        with urllib.request.urlopen(watching.address) as response:
            shown = response.read().decode()
        [name] = set(re.findall(r'src="media/(drawn\.[0-9a-f]{8}\.svg)"', shown))
        with urllib.request.urlopen(f"{watching.address}media/{name}") as response:
            assert response.read() == svg
            assert response.headers["Content-Type"] == "image/svg+xml"
            assert response.headers["Content-Security-Policy"] == "sandbox"
