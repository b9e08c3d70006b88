"""Hostile and broken input: nothing crashes, nothing active gets through, nothing is lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ONE_OF_EACH, build, write_notes
from generate import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckgen.build import prepare
from deckgen.cli import main
from deckgen.files import MAX_BYTES
from deckgen.load import load
from deckgen.lock import parse
from deckgen.markup import to_html
from deckgen.media import NAME

T0 = 1_700_000_000

# What note text may become in HTML: these tags, and on them only these attributes.
ALLOWED = {"code": {"class"}, "strong": set(), "em": set(), "br": set(), "p": set(), "ul": set()}
# A block of code, highlighted: its classes only (highlight.py).
ALLOWED |= {"pre": {"class"}, "span": {"class"}}
ALLOWED |= {"ol": {"start"}, "li": set()}
# And pictures, by the names deckgen gives the files it ships (media.NAME): nothing else.
ALLOWED |= {"img": {"src", "alt"}}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags_in(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<iframe src=javascript:alert(1)>",
        "[x](javascript:alert(1))",
        "<a href='javascript:alert(1)'>x</a>",
        "<svg onload=alert(1)>",
        "&lt;script&gt;",
        "javascript:alert(1)",
        "`<b>`",
        "**<i>x</i>**",
        "<!-- x -->",
        "<style>body{}</style>",
        "\n- <b>item</b>\n",
        "\n3. x\n",
        "![i](x.png)",
        "![i](a.3f2a9c1e.png)",
        "![i](javascript:alert(1).3f2a9c1e.png)",
        '![x" onerror="alert(1)](a.3f2a9c1e.svg)',
        "![i](https://x.y/a.3f2a9c1e.png)",
        "\\( <script> \\)",
        "<https://x.y>",
        "{{c1::<b>x</b>}}",
        '"',
        "'",
        "\\<",
        '\n```python" onload="alert(1)\n<script>x</script>\n```\n',
        "\n~~~<svg onload=alert(1)>\n{{c1::<b>x</b>}}\n~~~\n",
        "\n```js\n",
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=8)), max_size=8).map("".join)


@settings(max_examples=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_note_text_never_becomes_active_html(text: str) -> None:
    html = to_html(text)
    for tag, attrs in tags_in(html):
        assert tag in ALLOWED, (text, html)
        assert {name for name, _ in attrs} <= ALLOWED[tag], (text, html)
        if tag == "img":
            assert NAME.match(dict(attrs)["src"] or ""), (text, html)
        for name, value in attrs:  # a class is one deckgen gives: words, never markup
            if name == "class":
                assert re.fullmatch(r"[\w .+#-]+", value or ""), (text, html)
    lowered = html.lower()
    for active in ("<script", "<iframe", "<svg", "<a ", "<style", "<!--"):
        assert active not in lowered, (text, html)


# Notes files made of the parts people get wrong, to throw at the whole reader.
KEYS = st.sampled_from(
    [
        "id",
        "fact",
        "trap",
        "reality",
        "pair",
        "difference",
        "scenario",
        "answer",
        "distractor",
        "why_not",
        "tags",
        "extra",
        "name",
        "means",
        "anser",
        "Fact",
        "1",
        "? x",
        "<<",
        "",
    ]
)
SCALARS = st.sampled_from(
    [
        "ok",
        "no",
        "yes",
        "1.10",
        "0123",
        "~",
        "",
        "null",
        "2025-09-01",
        "'quoted'",
        '"q\\"x"',
        "{{c1::x}}",
        "'{{c1::x}}'",
        "{{c0::x}}",
        "{{c1::x",
        "a: b",
        "[a, b]",
        "{a: b}",
        "&a x",
        "*a",
        "|",
        ">-",
        "\t",
        "é",
        "- x",
        "#c",
        "'unterminated",
        "<script>",
        "x\ty",
    ]
)


@st.composite
def notes_file(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        indent = draw(st.sampled_from(["", " ", "  ", "    ", "\t"]))
        dash = draw(st.sampled_from(["- ", "", "  - ", "-"]))
        lines.append(f"{indent}{dash}{draw(KEYS)}: {draw(SCALARS)}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


@settings(
    max_examples=2500,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(notes_file())
def test_any_notes_file_gives_a_deck_or_positioned_problems(tmp_path: Path, text: str) -> None:
    folder = tmp_path / "fuzz"
    write_notes(folder, {"mlops.yaml": text})
    deck, problems = load(folder)[:2]
    lines = text.splitlines() or [""]
    for problem in problems:
        assert 1 <= problem.position.line <= len(lines) + 1, (text, str(problem))
        assert problem.position.col >= 1, (text, str(problem))
        assert problem.path.endswith(("mlops.yaml", "deck.yaml")), str(problem)
    assert (deck is None) == any(p.level.value == "error" for p in problems), text


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {})
    huge = folder / "mlops.yaml"
    with open(huge, "wb") as file:
        file.truncate(50 * 2**20)  # 50 MiB, sparse: a reader would have to fault it all in
    deck, problems = load(folder)[:2]
    assert deck is None
    assert [str(p) for p in problems] == [
        f"{huge}:1:1: error: the file is 50.0 MiB; deckgen reads files of up to"
        f" {MAX_BYTES // 2**20} MiB: split it into files in a folder named after its domain"
        " [too-large]"
    ]


def test_a_retired_id_given_to_other_text_is_refused(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    build(folder, tmp_path / "v1.apkg", T0)
    general = folder / "general.yaml"
    general.unlink()
    build(folder, tmp_path / "v2.apkg", T0 + 100)
    general.write_text("- id: timing\n  fact: A {{c1::different}} note\n")

    made, problems = prepare(folder, T0 + 200)

    assert made is None
    assert [p.code for p in problems] == ["id-reused"]
    assert (problems[0].path, problems[0].position.line) == (str(general), 1)


def test_a_failed_build_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    (folder / "mlops.yaml").write_text((folder / "mlops.yaml").read_text() + "- id: x\n  fact: y\n")
    before[folder / "mlops.yaml"] = (folder / "mlops.yaml").read_bytes()

    result = CliRunner().invoke(main, ["build"])

    assert result.exit_code == 1
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.2, 1.6])
def test_a_killed_build_leaves_the_previous_deck_and_lock(tmp_path: Path, delay: float) -> None:
    """SIGKILL at some moment of a build of a deck large enough to take a while."""
    notes = generate(3_000, tmp_path / "notes")
    out = tmp_path / "dist" / "deck.apkg"
    command = [sys.executable, "-m", "deckgen", "build", str(notes), "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    package, lock = out.read_bytes(), (notes / "deck.lock").read_bytes()
    (notes / "d05.yaml").write_text((notes / "d05.yaml").read_text().replace("Model", "Modèle"))

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()

    # Killed at any moment, each file is whole: the old one, or the new one complete.
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["collection.anki2", "media"]
    assert parse((notes / "deck.lock").read_text(), "deck.lock")[0] is not None
    if out.read_bytes() == package:  # the package is written first, the lock after it
        assert (notes / "deck.lock").read_bytes() == lock
    # Whatever the moment, the next build succeeds and clears what the killed one left.
    subprocess.run(command, check=True, capture_output=True)
    strays = [
        p.name for p in (out.parent, notes) for p in p.iterdir() if p.name.endswith(".partial")
    ]
    assert strays == []


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (Linux's /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_large_build(tmp_path: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """A build of over a megabyte of notes (read by a process per core), in a process
    group of its own, once it has started its children."""
    notes = generate(4_500, tmp_path / "notes")
    command = [sys.executable, "-m", "deckgen", "build", str(notes), "-o", str(tmp_path / "d")]
    process = subprocess.Popen(command, text=True, stderr=subprocess.PIPE, start_new_session=True)
    children: set[int] = set()
    deadline = time.monotonic() + 10
    while len(children) < 2 and time.monotonic() < deadline:  # two readers
        children |= _children(process.pid)
        time.sleep(0.005)
    assert len(children) >= 2
    return process, children


def _none_left(children: set[int]) -> bool:
    deadline = time.monotonic() + 5
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_running(pid) for pid in children)


LINUX_TWO_CORES = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or (os.cpu_count() or 1) < 2,
    reason="needs Linux's /proc, and two cores for a build to start processes",
)


@LINUX_TWO_CORES
def test_a_killed_large_build_leaves_no_process_behind(tmp_path: Path) -> None:
    process, children = _start_large_build(tmp_path)
    process.send_signal(signal.SIGKILL)
    process.communicate()

    assert _none_left(children)


@LINUX_TWO_CORES
def test_ctrl_c_stops_a_large_build_with_one_line_and_no_process_left(tmp_path: Path) -> None:
    process, children = _start_large_build(tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
    _, stderr = process.communicate()

    assert process.returncode == 1
    assert stderr.strip() == "Aborted!"  # click's word; no child's traceback
    assert _none_left(children)
