"""`deckgen pull`, through real Anki: build, import, study, edit in Anki's editor, export
(current and legacy formats), pull, and build and import again."""

from __future__ import annotations

import difflib
import html
import random
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from anki.collection import Collection, ExportAnkiPackageOptions
from click.testing import CliRunner
from conftest import ONE_OF_EACH, REPO, build, import_package, load, write_notes

from deckgen.cli import main
from deckgen.notetypes import NOTE_TYPES

T0 = 1_700_000_000.0
DECK = "Test deck"
MLOPS = f"{DECK}::MLOps"


def _export(col: Collection, out: Path, legacy: bool) -> Path:
    options = ExportAnkiPackageOptions(
        with_scheduling=True, with_deck_configs=False, with_media=True, legacy=legacy
    )
    col.export_anki_package(out_path=str(out), options=options, limit=None)
    return out


def _note(col: Collection, deckgen_id: str):  # type: ignore[no-untyped-def]
    [nid] = col.find_notes(f'"ID:{deckgen_id}"')
    return col.get_note(nid)


def _pull(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["pull", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def _edit_as_a_user(col: Collection) -> None:
    """What a user does in Anki's editor: bold, an ampersand, a word changed next to a
    cloze, a tag, and a new note of each deckgen note type."""
    fact = _note(col, "refresh")
    fact["Text"] = (
        "Drift metrics are computed on {{c1::REFRESH}}, <b>never</b> {{c2::continuously}}"
    )
    col.update_note(fact)
    trap = _note(col, "ks-on-categorical")
    trap["Reality"] = "Use Chi-squared &amp; Jensen-Shannon."
    trap.tags.append("topic::drift")
    col.update_note(trap)
    deck = col.decks.id_for_name(MLOPS)
    new = {
        "deckgen Fact": {"Text": "A {{c1::new}} fact"},
        "deckgen Trap": {"Trap": "A new trap", "Reality": "Its reality"},
        "deckgen Confusing Pair": {
            "Item 1 Name": "Alpha",
            "Item 1 Meaning": "first",
            "Item 2 Name": "Beta",
            "Item 2 Meaning": "second",
            "Difference": "Order",
        },
        "deckgen Scenario": {
            "Scenario": "A new scenario?",
            "Answer": "Yes",
            "Distractor": "No",
            "Why Not": "Because",
        },
    }
    for name, fields in new.items():
        note = col.new_note(col.models.by_name(name))
        for key, value in fields.items():
            note[key] = value
        col.add_note(note, deck)


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b", "legacy"])
def test_edits_made_in_anki_come_back_and_go_out_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    notes = write_notes(
        tmp_path / "notes", {"mlops.yaml": "# MLOps notes\n\n" + ONE_OF_EACH["mlops.yaml"]}
    )
    (notes / "deck.yaml").write_text(
        (notes / "deck.yaml").read_text() + "tags: [topic::drift]\n", encoding="utf-8"
    )
    build(notes, tmp_path / "v1.apkg", T0)
    col = Collection(str(tmp_path / "user.anki2"))
    try:
        import_package(col, tmp_path / "v1.apkg")
        card = col.get_card(col.find_cards("deck:*")[0])
        card.start_timer()
        col.sched.answerCard(card, 3)
        card.load()
        studied = (card.id, card.ivl, card.due, card.type)
        _edit_as_a_user(col)
        package = _export(col, tmp_path / "export.apkg", legacy)
        before = _snapshot(notes)

        code, out, err = _pull(str(package), str(notes))
        assert code == 0, err
        after = _snapshot(notes)
        assert set(after) == set(before)
        changed = _changed_lines(before["mlops.yaml"], after["mlops.yaml"])
        assert changed[:5] == [
            "-  fact: Drift metrics are computed on {{c1::REFRESH}}, not {{c2::continuously}}",
            "+  fact: Drift metrics are computed on {{c1::REFRESH}}, **never**"
            " {{c2::continuously}}",
            "-  reality: Use Chi-squared.",
            "+  reality: Use Chi-squared & Jensen-Shannon.",
            "+  tags: [topic::drift]",
        ]
        added = "\n".join(line[1:] for line in changed[5:])
        assert added.index("fact: A {{c1::new}} fact") < added.index("trap: A new trap")
        assert added.index("trap: A new trap") < added.index("name: Alpha")
        assert added.index("name: Alpha") < added.index("why_not: Because")
        assert all(line.startswith("+") for line in changed[4:])
        assert "2 edited, 4 added" in out
        assert after["mlops.yaml"].startswith("# MLOps notes\n\n- id: refresh\n")

        # A second pull of the same export changes nothing.
        code, out, _ = _pull(str(package), str(notes))
        assert code == 0 and _snapshot(notes) == after
        assert "4 unchanged" not in out and "edited" not in out and "added" not in out

        # Built and imported again: the edits in place, nothing new or conflicting,
        # the reviews and scheduling untouched.
        deck = load(notes)
        # (Later than the edits in Anki, as a build after a pull is.)
        build(notes, tmp_path / "v2.apkg", time.time() + 60)
        notes_before = col.note_count()
        log = import_package(col, tmp_path / "v2.apkg")
        assert list(log.new) == [] and list(log.conflicting) == []
        assert col.note_count() == notes_before
        again = col.get_card(studied[0])
        assert (again.id, again.ivl, again.due, again.type) == studied
        assert col.db.scalar("select count() from revlog") == 1
        assert "<strong>never</strong>" in _note(col, "refresh")["Text"]
        assert sorted(_note(col, "ks-on-categorical").tags)[-1] == "topic::drift"
        assert deck.size == 8
    finally:
        col.close()

    fresh = Collection(str(tmp_path / "fresh.anki2"))
    try:
        import_package(fresh, tmp_path / "v2.apkg")
        assert fresh.note_count() == 8
        assert fresh.find_notes('"Text:A {{c1::new}} fact*"')
    finally:
        fresh.close()


def _exported_copy(tmp_path: Path, notes: Path, name: str, edit=None) -> Path:  # type: ignore[no-untyped-def]
    """Build the notes as they are, import into a fresh collection, maybe edit, export."""
    build(notes, tmp_path / f"{name}.apkg", T0)
    col = Collection(str(tmp_path / f"{name}.anki2"))
    try:
        import_package(col, tmp_path / f"{name}.apkg")
        if edit is not None:
            edit(col)
        return _export(col, tmp_path / f"{name}-export.apkg", legacy=False)
    finally:
        col.close()


def test_an_unedited_copy_of_an_older_build_changes_nothing(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    old = _exported_copy(tmp_path, notes, "old")
    _edit_in_the_notes(notes)
    before = _snapshot(notes)
    code, out, _ = _pull(str(old), str(notes))
    assert code == 0
    assert _snapshot(notes) == before
    assert "1 unedited from an older build, left alone" in out


def _edit_in_the_notes(notes: Path) -> Path:
    """The maintainer's edit of the trap's reality, since the build a copy came from."""
    mlops = notes / "mlops.yaml"
    mlops.write_text(mlops.read_text().replace("Use Chi-squared.", "Use Chi-squared, never KS."))
    return mlops


def _edit_reality(col: Collection) -> None:
    trap = _note(col, "ks-on-categorical")
    trap["Reality"] = "Use Chi-squared (edited in Anki)."
    col.update_note(trap)


def test_a_conflict_writes_nothing_until_prefer_settles_it(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    package = _exported_copy(tmp_path, notes, "old", _edit_reality)
    mlops = _edit_in_the_notes(notes)
    before = _snapshot(notes)

    code, _, err = _pull(str(package), str(notes))
    assert code == 1
    assert _snapshot(notes) == before
    assert f"{notes}/mlops.yaml:3:7: error: 'ks-on-categorical' conflicts:" in err
    assert "    Reality in the notes: Use Chi-squared, never KS." in err
    assert "    Reality in Anki:      Use Chi-squared (edited in Anki)." in err

    code, out, _ = _pull(str(package), str(notes), "--prefer", "notes")
    assert code == 0 and _snapshot(notes) == before
    assert "  conflict, the notes kept ks-on-categorical (" in out
    code, out, _ = _pull(str(package), str(notes), "--prefer", "anki")
    assert code == 0
    assert "  conflict, Anki kept ks-on-categorical (" in out
    assert "  reality: Use Chi-squared (edited in Anki).\n" in mlops.read_text()


def test_an_edit_in_anki_to_a_note_unchanged_since_comes_back_and_dry_run_writes_nothing(
    tmp_path: Path,
) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    package = _exported_copy(tmp_path, notes, "old", _edit_reality)
    before = _snapshot(notes)
    code, out, _ = _pull(str(package), str(notes), "--dry-run")
    assert code == 0 and _snapshot(notes) == before
    assert "      Reality: Use [-Chi-squared.-] {+Chi-squared (edited in Anki).+}\n" in out
    assert "Dry run: nothing written" in out


def test_a_copy_from_before_fingerprints_is_a_conflict_saying_why(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    def unmark(col: Collection) -> None:
        _edit_reality(col)
        for nid in col.find_notes(""):
            note = col.get_note(nid)
            note["Domain"] = note["Domain"].split("<!--")[0]
            col.update_note(note)

    package = _exported_copy(tmp_path, notes, "old", unmark)
    code, _, err = _pull(str(package), str(notes))
    assert code == 1
    assert "a build made before deckgen kept fingerprints" in err


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not-a-zip", "not an Anki package: it is not a zip archive"),
        ("no-collection", "no Anki collection inside"),
        ("corrupt", "its collection is damaged or not Anki's"),
        ("newer", "written by a newer Anki"),
        ("bad-zstd", "its collection is damaged"),
        ("other-deck", "it holds no note of the deck 'Test deck'"),
    ],
)
def test_a_bad_package_is_refused_and_nothing_is_written(
    tmp_path: Path, name: str, expected: str
) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    package = tmp_path / f"{name}.apkg"
    if name == "not-a-zip":
        package.write_text("hello")
    elif name == "no-collection":
        _zip(package, {"media": b"{}"})
    elif name == "corrupt":
        _zip(package, {"collection.anki21": b"SQLite format 3\0" + b"\xff" * 4000})
    elif name == "newer":
        _zip(package, {"meta": b"\x08\x07", "collection.anki21c": b""})
    elif name == "bad-zstd":
        _zip(package, {"meta": b"\x08\x03", "collection.anki21b": b"\x28\xb5\x2f\xfd garbage"})
    else:
        other = write_notes(tmp_path / "other", {"mlops.yaml": ONE_OF_EACH["mlops.yaml"]})
        (other / "deck.yaml").write_text(
            (other / "deck.yaml")
            .read_text()
            .replace("Test deck", "Other")
            .replace("test-deck", "other")
        )
        package = _exported_copy(tmp_path, other, "other")
    before = _snapshot(notes)
    code, out, err = _pull(str(package), str(notes))
    assert code == 1
    assert expected in err
    assert "Traceback" not in err + out
    assert _snapshot(notes) == before


def test_notes_of_other_note_types_are_skipped_and_missing_notes_reported(
    tmp_path: Path,
) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    def edit(col: Collection) -> None:
        basic = col.new_note(col.models.by_name("Basic"))
        basic["Front"], basic["Back"] = "front", "back"
        col.add_note(basic, col.decks.id_for_name(MLOPS))
        col.remove_notes([_note(col, "timing").id])

    package = _exported_copy(tmp_path, notes, "old", edit)
    code, out, _ = _pull(str(package), str(notes))
    assert code == 0
    assert "skipped 1 note(s) of the note type 'Basic', not one of the deck's" in out
    assert "1 note(s) of the notes are not in the package (kept): timing" in out
    assert set(NOTE_TYPES) == {"fact", "trap", "pair", "scenario"}


def test_extra_and_pair_items_are_added_and_removed_where_they_stand(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    mlops = notes / "mlops.yaml"
    mlops.write_text(
        mlops.read_text().replace(
            "  reality: Use Chi-squared.\n",
            "  reality: Use Chi-squared.\n  extra: >-\n    An extra text   # said twice\n",
        )
        + "- id: two-things\n  pair:\n    - name: Alpha\n      means: first\n"
        "    - name: Beta\n      means: second\n  difference: Order\n"
    )

    def edit(col: Collection) -> None:
        trap = _note(col, "ks-on-categorical")
        trap["Extra"] = ""
        col.update_note(trap)
        fact = _note(col, "refresh")
        fact["Extra"] = "Seen on: the exam"
        col.update_note(fact)
        three = _note(col, "three-tests")
        three["Item 1 Name"] = "KS test (Kolmogorov-Smirnov)"
        three["Item 3 Name"], three["Item 3 Meaning"] = "", ""
        col.update_note(three)
        two = _note(col, "two-things")
        two["Item 3 Name"], two["Item 3 Meaning"] = "Gamma", "third"
        col.update_note(two)

    package = _exported_copy(tmp_path, notes, "old", edit)
    before = mlops.read_text()
    code, out, err = _pull(str(package), str(notes))
    assert code == 0, err
    assert _changed_lines(before, mlops.read_text()) == [
        '+  extra: "Seen on: the exam"',
        "-  extra: >-",
        "-    An extra text   # said twice",
        "-    - {name: KS test, means: numerical features only}",
        "+    - {name: KS test (Kolmogorov-Smirnov), means: numerical features only}",
        "-    - {name: Jensen-Shannon divergence, means: 'both, bounded [0,1]'}",
        "+    - name: Gamma",
        "+      means: third",
    ]
    assert "4 edited" in out
    assert load(notes).size == 6


def test_a_guid_kept_from_anki_is_checked(tmp_path: Path) -> None:
    note = "- id: {id}\n  guid: {guid}\n  fact: A {{{{c1::fact}}}}\n"
    notes = write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": note.format(id="one", guid="'abc'") + note.format(id="two", guid="'abc'"),
            "general.yaml": note.format(id="three", guid="'has space'"),
        },
    )
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{notes}/general.yaml:2:9: error: 'guid' must be Anki's GUID of the note, as"
        " `deckgen pull` wrote it: up to 64 letters, digits and punctuation, no spaces [bad-guid]",
        f"{notes}/mlops.yaml:5:9: error: duplicate guid 'abc': already used at"
        f" {notes}/mlops.yaml:2:9; two notes with one GUID are one note in Anki [duplicate-guid]",
        f"{notes}: 2 errors; nothing written",
    ]


def test_what_cannot_come_back_is_reported_at_the_note(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    (notes / "deck.yaml").write_text(
        (notes / "deck.yaml").read_text() + "tags: [topic::drift]\n", encoding="utf-8"
    )

    def edit(col: Collection) -> None:
        trap = _note(col, "ks-on-categorical")
        trap["Reality"] = (
            'Use <span style="color: red">Chi-squared</span>.<script>alert(1)</script>'
            '<img src="x.png" onerror="alert(2)">'
        )
        trap.tags += ["topic::drift", "my-own-tag"]
        col.update_note(trap)

    package = _exported_copy(tmp_path, notes, "old", edit)
    code, _, err = _pull(str(package), str(notes))
    assert code == 0, err
    where = f"{notes}/mlops.yaml:3:7: warning: 'ks-on-categorical'"
    assert err.splitlines() == [
        f"{where}: Reality from Anki: <img src onerror> reduced to its text [reduced]",
        f"{where}: Reality from Anki: <script> left out, with all it holds [reduced]",
        f"{where}: Reality from Anki: <span style>: its style left out [reduced]",
        f"{where}: the tag 'my-own-tag' from Anki is not declared in deck.yaml: left out"
        " [undeclared-tag]",
    ]
    text = (notes / "mlops.yaml").read_text()
    assert "  reality: Use Chi-squared.\n  tags: [topic::drift]\n" in text


def test_a_notes_file_that_is_a_symlink_is_not_written_through(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    package = _exported_copy(tmp_path, notes, "old", _edit_reality)
    outside = tmp_path / "elsewhere.yaml"
    (notes / "mlops.yaml").rename(outside)
    (notes / "mlops.yaml").symlink_to(outside)
    before = outside.read_text()
    code, _, err = _pull(str(package), str(notes))
    assert code == 1
    assert f"{notes}/mlops.yaml:1:1: error: pull writes only regular files inside the notes" in err
    assert outside.read_text() == before and (notes / "mlops.yaml").is_symlink()


def test_a_field_too_long_for_a_note_is_left_as_it_is(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    def edit(col: Collection) -> None:
        trap = _note(col, "ks-on-categorical")
        trap["Reality"] = "word " * 2_001  # 10,005 characters
        col.update_note(trap)
        added = col.new_note(col.models.by_name("deckgen Fact"))
        added["Text"] = "{{c1::x}} " + "<b>y</b>" * 30_000
        col.add_note(added, col.decks.id_for_name(MLOPS))

    package = _exported_copy(tmp_path, notes, "old", edit)
    before = _snapshot(notes)
    code, out, err = _pull(str(package), str(notes))
    assert code == 0, err
    assert _snapshot(notes) == before
    assert (
        f"{notes}/mlops.yaml:3:7: warning: 'ks-on-categorical': Reality from Anki is over"
        " 10,000 characters, the most a note's text holds: left as it is [too-long]"
    ) in err
    assert "skipped 1 note(s) added in Anki, with a field too long for a note" in out


def test_a_picture_comes_back_by_its_path(tmp_path: Path) -> None:
    notes = write_notes(
        tmp_path / "notes",
        {"mlops.yaml": "- id: shown\n  fact: '{{c1::Canary}}: ![traffic](<pictures/a b.png>)'\n"},
    )
    (notes / "pictures").mkdir()
    (notes / "pictures" / "a b.png").write_bytes(b"\x89PNG\r\n\x1a\ntraffic")

    def edit(col: Collection) -> None:
        note = _note(col, "shown")
        note["Text"] = note["Text"].replace("Canary", "Canary release")
        col.update_note(note)

    package = _exported_copy(tmp_path, notes, "old", edit)
    code, _, err = _pull(str(package), str(notes))
    assert code == 0, err
    assert (notes / "mlops.yaml").read_text() == (
        "- id: shown\n  fact: '{{c1::Canary release}}: ![traffic](<pictures/a b.png>)'\n"
    )
    assert err == ""


def test_a_built_notes_fingerprint_is_of_its_fields_and_tags_as_built(tmp_path: Path) -> None:
    from deckgen.notetypes import FINGERPRINTED
    from deckgen.records import Fingerprint, field_hash, tags_hash, user_tags

    deck = load(write_notes(tmp_path / "notes", ONE_OF_EACH))
    for record in deck.records():
        note_type = NOTE_TYPES[record.kind]
        values = dict(zip(note_type.field_names, record.values, strict=True))
        found = Fingerprint.find(values[FINGERPRINTED])
        assert found == Fingerprint(
            tuple(field_hash(values[name]) for name in note_type.written),
            tags_hash(tuple(user_tags(record.tags))),
        )


def test_what_cannot_be_a_notes_text_is_left_as_it_is_and_said_each_time(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    def edit(col: Collection) -> None:
        trap = _note(col, "ks-on-categorical")
        trap["Trap"] = "<br>&nbsp;"
        col.update_note(trap)
        fact = _note(col, "refresh")
        fact["Text"] = "Drift metrics are computed on REFRESH, not continuously"
        col.update_note(fact)
        added = col.new_note(col.models.by_name("deckgen Fact"))
        added["Text"] = "no cloze here"
        col.add_note(added, col.decks.id_for_name(MLOPS))

    package = _exported_copy(tmp_path, notes, "old", edit)
    before = _snapshot(notes)
    for _ in range(2):
        code, out, err = _pull(str(package), str(notes))
        assert code == 0, err
        assert _snapshot(notes) == before
        assert "5 unchanged" in out and "edited" not in out
        assert "skipped 1 note(s) added in Anki, with a field empty, or a fact without" in out
        assert err.splitlines() == [
            f"{notes}/mlops.yaml:1:7: warning: 'refresh': Text from Anki: it has no cloze;"
            " the notes keep their text [cloze-syntax]",
            f"{notes}/mlops.yaml:3:7: warning: 'ks-on-categorical': Trap is empty in Anki:"
            " the notes keep their text [empty-text]",
        ]


WORDS = ["alpha", "x_y", "a*b", "`tick`", "50%", "#hash", "- dash", "1. one", "{{c9::z}}"]
WORDS += ["é", "&", "<", "\\", "\\( a^{2} \\)", ":", "'q'", '"dq"', "yes", "1.10"]


def _fragment(rng: random.Random, depth: int = 0) -> str:
    """HTML as Anki's editor, or a paste, makes it."""
    out = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["w", "w", "w", "b", "i", "br", "div", "code", "nbsp", "ul"])
        word = html.escape(rng.choice(WORDS), quote=False)
        if kind == "w" or depth > 1:
            out.append(word + " ")
        elif kind in ("b", "i"):
            out.append(f"<{kind}>{_fragment(rng, depth + 1)}</{kind}>")
        elif kind == "code":
            out.append(f"<code>{word}</code>")
        elif kind == "div":
            out.append(f"<div>{_fragment(rng, depth + 1)}</div>")
        else:
            out.append({"br": "<br>", "nbsp": "&nbsp;"}.get(kind, f"<ul><li>{word}</li></ul>"))
    return "".join(out)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_in_anki_to_the_repo_deck_come_back_and_go_out_again(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    notes = Path(shutil.copytree(REPO / "notes", tmp_path / "notes"))
    build(notes, tmp_path / "v1.apkg", time.time() - 3600)
    col = Collection(str(tmp_path / "user.anki2"))
    try:
        import_package(col, tmp_path / "v1.apkg")
        derived = {"Domain", "ID", "Retired", "Answer First"}
        for nid in rng.sample(list(col.find_notes("")), 30):
            note = col.get_note(nid)
            names = [field["name"] for field in note.note_type()["flds"]]
            name = rng.choice([f for f in names if f not in derived and note[f]])
            note[name] = rng.choice(["", note[name] + " "]) + _fragment(rng)
            if rng.random() < 0.3:
                note.tags.append(rng.choice(["topic::drift", "undeclared-tag"]))
            col.update_note(note)
        package = _export(col, tmp_path / "export.apkg", legacy=seed % 2 == 0)
        code, out, err = _pull(str(package), str(notes))
        assert code == 0 and ": error:" not in err, err
        assert "edited" in out
        code, out, _ = _pull(str(package), str(notes))
        assert code == 0 and out.splitlines()[-1] == "126 unchanged"
        build(notes, tmp_path / "v2.apkg", time.time())
        log = import_package(col, tmp_path / "v2.apkg")
        assert list(log.new) == [] and list(log.conflicting) == []
    finally:
        col.close()


def test_a_note_added_in_anki_to_a_domain_keyed_deck_goes_in_a_folder_of_its_own(
    tmp_path: Path,
) -> None:
    """A domain whose key is `deck` keeps its notes in a folder `deck/` (its file beside
    deck.yaml would be deck.yaml itself): a note added in Anki to its subdeck comes back
    into `deck/from-anki.yaml`, and deck.yaml is left byte for byte as it was."""
    header = (
        "name: Test deck\nkey: test-deck\ndomains:\n"
        "  - {key: mlops, name: MLOps}\n  - {key: deck, name: Deck}\n"
    )
    notes = write_notes(
        tmp_path / "notes", {"mlops.yaml": ONE_OF_EACH["mlops.yaml"], "deck.yaml": header}
    )

    def edit(col: Collection) -> None:
        added = col.new_note(col.models.by_name("deckgen Fact"))
        added["Text"] = "A {{c1::new}} note of the Deck domain"
        col.add_note(added, col.decks.id(f"{DECK}::Deck"))  # (made: it had no cards)

    package = _exported_copy(tmp_path, notes, "old", edit)
    code, _, err = _pull(str(package), str(notes))
    assert code == 0, err
    assert (notes / "deck.yaml").read_text(encoding="utf-8") == header
    added = (notes / "deck" / "from-anki.yaml").read_text(encoding="utf-8")
    assert "A {{c1::new}} note of the Deck domain" in added
    built = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "again.apkg")])
    assert built.exit_code == 0, built.output
    assert "1 new" in built.output
