"""`deckgen init --from`: a deck made in Anki, brought into notes, built, and imported
into the collection it came from (nothing new, nothing updated) and into a fresh one
(the same cards)."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection, ExportAnkiPackageOptions
from click.testing import CliRunner
from conftest import import_package, visible
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen.cli import main

PNG = b"\x89PNG\r\n\x1a\n" + b"a picture"
MP3 = b"ID3" + b"\x00" * 20 + b"a sound"
WOFF2 = b"wOF2" + b"\x00" * 40 + b"a font"


def _collection(path: Path) -> Collection:
    """A collection as a user makes one: stock types and a custom one, nested decks,
    formatting, a picture, tags; some cards studied, one suspended."""
    col = Collection(str(path))
    top = col.decks.id("Spanish")
    deck = col.decks.get(top)
    assert deck is not None
    deck["desc"] = "Words for the <b>trip</b>"
    col.decks.save(deck)
    verbs = col.decks.id("Spanish::Grammar::Verbs")
    basic = col.models.by_name("Basic")
    reversed_ = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")
    optional = col.models.by_name("Basic (optional reversed card)")
    typed = col.models.by_name("Basic (type in the answer)")
    occlusion = col.models.by_name("Image Occlusion")
    custom = col.models.new("Vocab")
    for name in ("Word", "Meaning", "Note"):
        col.models.add_field(custom, col.models.new_field(name))
    template = col.models.new_template("Card 1")
    template["qfmt"] = "{{Word}}{{#Note}}<br><i>{{Note}}</i>{{/Note}}"
    template["afmt"] = "{{FrontSide}}<hr id=answer>{{Meaning}}"
    col.models.add_template(custom, template)
    custom["css"] = '@font-face { font-family: f; src: url("_f.woff2"); } .card { color: navy; }'
    Path(col.media.dir(), "_f.woff2").write_bytes(WOFF2)
    col.models.add(custom)
    Path(col.media.dir(), "sun.png").write_bytes(PNG)
    Path(col.media.dir(), "soy.mp3").write_bytes(MP3)
    notes = [
        (basic, top, {"Front": "hola", "Back": "hello"}, ["greeting"]),
        (
            basic,
            top,
            {"Front": "<b>adiós</b>", "Back": 'bye <span style="color: red">now</span>'},
            [],
        ),
        (reversed_, verbs, {"Front": "ser", "Back": "to be<br>(permanent)"}, ["verbs::irregular"]),
        (
            cloze,
            verbs,
            {"Text": "{{c1::Soy}} de Madrid, {{c2::estoy}} aquí", "Back Extra": "[sound:soy.mp3]"},
            [],
        ),
        (
            custom,
            col.decks.id("Spanish::Words"),
            {"Word": "sol", "Meaning": '<img src="sun.png">', "Note": "masc."},
            [],
        ),
        (
            custom,
            col.decks.id("Spanish::Words"),
            {"Word": "luna", "Meaning": "moon", "Note": ""},
            [],
        ),
        (optional, top, {"Front": "gato", "Back": "cat", "Add Reverse": "y"}, []),
        (optional, top, {"Front": "perro", "Back": "dog", "Add Reverse": ""}, []),
        (typed, top, {"Front": "water", "Back": "agua"}, []),
        (
            occlusion,
            col.decks.id("Spanish::Pictures"),
            {
                "Occlusion": "{{c1::image-occlusion:rect:left=.1:top=.1:width=.3:height=.2:oi=1}}",
                "Image": '<img src="sun.png">',
                "Header": "The sun",
            },
            [],
        ),
    ]
    for model, deck, fields, tags in notes:
        note = col.new_note(model)  # type: ignore[arg-type]
        for name, value in fields.items():
            note[name] = value
        note.tags = tags
        col.add_note(note, deck)
    for card_id in col.find_cards("")[:3]:
        card = col.get_card(card_id)
        card.start_timer()
        col.sched.answerCard(card, 3)
    col.sched.suspend_cards([col.find_cards("")[4]])
    return col


def _export(col: Collection, out: Path, legacy: bool = False, scheduling: bool = True) -> Path:
    """The collection's decks as a user exports them: an Anki Deck Package, media in."""
    options = ExportAnkiPackageOptions(with_scheduling=scheduling, with_media=True, legacy=legacy)
    col.export_anki_package(out_path=str(out), options=options, limit=None)
    return out


def _state(col: Collection) -> dict[int, tuple[object, ...]]:
    """Every card: its note, deck, template, scheduling and reviews."""
    return {
        cid: (
            card.nid,
            card.did,
            card.ord,
            card.type,
            card.queue,
            card.due,
            card.ivl,
            col.db.scalar("select count() from revlog where cid = ?", cid),
        )
        for cid in col.find_cards("")
        for card in [col.get_card(cid)]
    }


def _rendered(col: Collection) -> dict[str, tuple[str, str, str]]:
    """Each card, by its note's GUID and template: its deck, question and answer as seen."""
    return {
        f"{col.get_note(card.nid).guid}/{card.ord}": (
            col.decks.name(card.did),
            visible(card.question()),
            visible(card.answer()),
        )
        for cid in col.find_cards("")
        for card in [col.get_card(cid)]
    }


def assert_the_law(col: Collection, notes: Path, work: Path) -> None:
    """The notes brought from `col` built; imported into `col`: nothing new, updated or
    conflicting, no note type copied, every card as it was; into a fresh collection:
    every card in its deck, showing what it showed."""
    built = CliRunner().invoke(main, ["build", str(notes), "-o", str(work / "deck.apkg")])
    assert built.exit_code == 0, built.output
    before, shown = _state(col), _rendered(col)
    types = {m["id"] for m in col.models.all()}
    log = import_package(col, work / "deck.apkg")
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 0, 0)
    col.models._clear_cache()
    assert {m["id"] for m in col.models.all()} == types  # no "Name+" copy
    assert _state(col) == before
    fresh = Collection(str(work / "fresh.anki2"))
    try:
        import_package(fresh, work / "deck.apkg")
        assert _rendered(fresh) == shown
    finally:
        fresh.close()


@pytest.mark.parametrize("form", ["current", "legacy", "collection"])
def test_a_deck_brought_from_anki_builds_back_to_itself(tmp_path: Path, form: str) -> None:
    col = _collection(tmp_path / "original.anki2")
    try:
        if form == "collection":  # a whole-collection package, .colpkg
            package = tmp_path / "collection.colpkg"
            col.export_collection_package(str(package), include_media=True, legacy=False)
            col.reopen()
        else:
            package = _export(col, tmp_path / "export.apkg", legacy=form == "legacy")
        notes = tmp_path / "notes"
        command = ["init", str(notes), "--from", str(package), "--deck", "Spanish"]
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
        assert 'description: "Words for the **trip**"' in (notes / "deck.yaml").read_text()
        assert "dist/" in (tmp_path / ".gitignore").read_text()  # as init writes one
        assert_the_law(col, notes, tmp_path)
        before = _state(col)
        fresh = Collection(str(tmp_path / "fresh.anki2"))
        try:
            media = {p.name: p.read_bytes() for p in Path(fresh.media.dir()).iterdir()}
            assert sorted(media.values()) == sorted([PNG, MP3, WOFF2])  # the font too
            names = sorted(n.name for n in fresh.decks.all_names_and_ids() if n.name != "Default")
            assert names == sorted(
                n.name for n in col.decks.all_names_and_ids() if n.name != "Default"
            )
        finally:
            fresh.close()

        # One note edited in its YAML: exactly that note is updated, its reviews kept.
        words = next(notes.glob("*words*.yaml"))
        words.write_text(words.read_text().replace("Meaning: moon", "Meaning: the moon"))
        later = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "v2.apkg")])
        assert later.exit_code == 0, later.output
        log = import_package(col, tmp_path / "v2.apkg")
        assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 1, 0)
        assert [n for n in before if before[n] != _state(col).get(n)] == []

        # And pull works on the new folder: an edit made in Anki (later) comes back.
        time.sleep(1.1)  # Anki keeps times in seconds
        [nid] = col.find_notes("Word:sol")
        note = col.get_note(nid)
        note["Note"] = "masculine"
        col.update_note(note)
        exported = _export(col, tmp_path / "edited.apkg", legacy=form == "legacy")
        pulled = CliRunner().invoke(main, ["pull", str(exported), str(notes)])
        assert pulled.exit_code == 0, pulled.output
        assert "  Note: masculine\n" in words.read_text()
    finally:
        col.close()


def test_bad_input_is_refused_and_nothing_written(tmp_path: Path) -> None:
    col = _collection(tmp_path / "original.anki2")
    col.decks.id("French")
    note = col.new_note(col.models.by_name("Basic"))  # type: ignore[arg-type]
    note["Front"] = "bonjour"
    col.add_note(note, col.decks.id("French"))
    package = _export(col, tmp_path / "export.apkg", scheduling=False)
    col.close()
    notes = tmp_path / "notes"
    result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
    assert result.exit_code == 1
    assert "it holds several decks: name one with --deck: 'French' (1 notes), 'Spanish'" in (
        result.output
    )
    assert not notes.exists()
    result = CliRunner().invoke(
        main, ["init", str(notes), "--from", str(package), "--deck", "Latin"]
    )
    assert result.exit_code == 1 and "it holds no deck 'Latin'" in result.output
    assert not notes.exists()
    (tmp_path / "not.apkg").write_bytes(b"not a zip")
    result = CliRunner().invoke(main, ["init", str(notes), "--from", str(tmp_path / "not.apkg")])
    assert result.exit_code == 1 and "not a zip archive" in result.output
    assert not notes.exists()
    result = CliRunner().invoke(
        main, ["init", str(notes), "--from", str(package), "--deck", "French"]
    )
    assert result.exit_code == 0, result.output
    assert (notes / "deck.lock").exists()
    again = CliRunner().invoke(
        main, ["init", str(notes), "--from", str(package), "--deck", "French"]
    )
    assert again.exit_code == 1 and "is not empty" in again.output


@pytest.mark.parametrize("legacy", [False, True])
def test_a_deck_deckgen_built_comes_back_as_its_kinds(
    notes_dir: Path, tmp_path: Path, legacy: bool
) -> None:
    """The sample deck, built, imported, studied and exported: brought back, its notes are
    facts, traps, pairs and scenarios again, with their ids, domains and weights, and they
    build that deck's cards."""
    col = Collection(str(tmp_path / "original.anki2"))
    try:
        assert (
            CliRunner()
            .invoke(main, ["build", str(notes_dir), "-o", str(tmp_path / "v1.apkg")])
            .exit_code
            == 0
        )
        import_package(col, tmp_path / "v1.apkg")
        for card_id in col.find_cards("")[:5]:
            card = col.get_card(card_id)
            card.start_timer()
            col.sched.answerCard(card, 3)
        package = _export(col, tmp_path / "export.apkg", legacy=legacy)
        notes = tmp_path / "brought"
        result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
        assert result.exit_code == 0, result.output
        deck = (notes / "deck.yaml").read_text(encoding="utf-8")
        assert "note_types:" not in deck and "weight: 44" in deck
        assert 'description: "Last-minute traps, must-know facts' in deck
        original = {p.stem for p in notes_dir.glob("*.yaml")} - {"deck"}
        assert {p.stem for p in notes.glob("*.yaml")} - {"deck"} == original
        assert_the_law(col, notes, tmp_path)
    finally:
        col.close()


def test_a_package_cannot_write_over_what_init_writes(tmp_path: Path) -> None:
    """A note type whose CSS loads 'deck.yaml', and a file of that name in the package:
    nothing of the package lands on deckgen's own files; the deck is refused, and the
    folder, empty before, is left empty."""
    col = Collection(str(tmp_path / "original.anki2"))
    model = col.models.by_name("Basic")
    assert model is not None
    model["css"] = '@font-face { src: url("deck.yaml"); }'
    col.models.update_dict(model)
    note = col.new_note(model)
    note["Front"] = "hola"
    col.add_note(note, col.decks.id("Spanish"))
    exported = _export(col, tmp_path / "export.apkg", legacy=True, scheduling=False)
    col.close()
    # The package made to carry a file named deck.yaml (Anki itself would not ship it).
    package = tmp_path / "crafted.apkg"
    with zipfile.ZipFile(exported) as source, zipfile.ZipFile(package, "w") as crafted:
        for entry in source.namelist():
            if entry != "media":
                crafted.writestr(entry, source.read(entry))
        crafted.writestr("media", json.dumps({"0": "deck.yaml"}))
        crafted.writestr("0", b"name: hijacked\n")
    notes = tmp_path / "notes"
    notes.mkdir()
    result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
    assert result.exit_code == 1, result.output
    assert "nothing written" in result.output
    assert list(notes.iterdir()) == [] and not (tmp_path / ".gitignore").exists()
    assert not (tmp_path / ".github").exists()  # nor the workflow, nor its folders


def test_templates_and_css_too_long_for_deck_yaml_come_in_files_of_their_own(
    tmp_path: Path,
) -> None:
    """A shared deck's long stylesheet and template (over the 10,000 characters a value
    of deck.yaml holds): each in a file beside the notes, `{file: ...}` in deck.yaml,
    byte for byte, and the law holds."""
    col = Collection(str(tmp_path / "original.anki2"))
    try:
        model = col.models.by_name("Basic")
        assert model is not None
        model["css"] = "".join(f".c{n} {{ color: #{n:06x}; }}\n" for n in range(600))
        model["tmpls"][0]["qfmt"] = "{{Front}}" + "".join(
            f"\n<div class='line{n}'></div>" for n in range(400)
        )
        col.models.update_dict(model)
        note = col.new_note(model)
        note["Front"], note["Back"] = "hola", "hello"
        col.add_note(note, col.decks.id("Spanish::Words"))
        package = _export(col, tmp_path / "export.apkg")
        notes = tmp_path / "notes"
        result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
        assert result.exit_code == 0, result.output
        deck = (notes / "deck.yaml").read_text(encoding="utf-8")
        [folder] = (notes / "note-types").iterdir()
        assert f'css: {{file: "note-types/{folder.name}/style.css"}}' in deck
        assert f'front: {{file: "note-types/{folder.name}/card-1-front.html"}}' in deck
        assert (folder / "style.css").read_text(encoding="utf-8") == model["css"]
        front = (folder / "card-1-front.html").read_text(encoding="utf-8")
        assert front == model["tmpls"][0]["qfmt"]
        assert_the_law(col, notes, tmp_path)
    finally:
        col.close()


def test_a_large_deck_comes_in_alike_in_one_process_and_in_one_per_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's deck of 2,000 notes (the kinds, two declared types of Markdown and
    one of HTML, 500 pictures), built and brought back in: its fields converted in this
    process, or in a process per core (chunks, while the notes are written), give every
    file byte for byte; and the brought notes build the same cards. Every field of it
    converts alike by the converter's shortcuts and by its general path."""
    from generate import generate

    from deckgen import fromanki

    notes = generate(2_000, tmp_path / "deck" / "notes", pictures=True)
    package = tmp_path / "deck.apkg"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(notes), "-o", str(package)]).exit_code == 0
    pooled: list[bool] = []
    start = fromanki.Converter.__init__

    def counted(self: fromanki.Converter, pictures: dict[str, str], fields: int) -> None:
        start(self, pictures, fields)
        pooled.append(self.pool is not None)

    monkeypatch.setattr(fromanki.Converter, "__init__", counted)
    trees = []
    for cores in (1, 2):
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        folder = tmp_path / f"cores{cores}" / "notes"
        done = runner.invoke(main, ["init", str(folder), "--from", str(package)])
        assert done.exit_code == 0, done.output
        trees.append(
            {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        )
    assert pooled == [False, True]
    assert trees[0] == trees[1]
    assert len([p for p in trees[0] if p.parts[0] == "media"]) == 500
    rebuilt = tmp_path / "rebuilt.apkg"
    folder = tmp_path / "cores2" / "notes"
    done = runner.invoke(main, ["build", str(folder), "-o", str(rebuilt)])
    assert done.exit_code == 0 and "0 changed, 0 new" in done.output, done.output
    # The converter's shortcuts held to its general path on every field of the package:
    # plain words, words with a few formats, and text given to the reader without the
    # parser.
    from deckgen import exported
    from deckgen.unmarkup import _converted, _Reader, to_markdown

    fields = [v for note in exported.read(package).notes.values() for v in note.fields]
    shown = {"p000000.png": "media/p000000.png"}
    assert len(fields) > 10_000
    for value in fields:
        assert to_markdown(value) == _converted(value, None)
        assert to_markdown(value, shown) == _converted(value, shown)
        if "<" not in value and "&" not in value:
            parsed, given = _Reader({}), _Reader({})
            parsed.feed(value)
            parsed.close()
            given.handle_data(value)
            assert given.finish() == parsed.finish()


@pytest.mark.parametrize("processes", [False, True], ids=["in-a-thread", "in-a-process"])
def test_a_damaged_picture_ends_it_with_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: bool
) -> None:
    """The media are written while the notes are converted (in one of the processes that
    convert, or a thread beside them for a small deck): a picture whose bytes are damaged
    in the package ends the command there, exit 1, and what was written before (the
    folders, other media) is gone again."""
    from deckgen.fromanki import Converter

    monkeypatch.setattr(Converter, "MANY", 1 if processes else Converter.MANY)
    if processes:  # (no thread then)
        monkeypatch.setattr("deckgen.bring.Alongside", None)
    col = _collection(tmp_path / "original.anki2")
    exported = _export(col, tmp_path / "export.apkg", scheduling=False)
    col.close()
    package = tmp_path / "damaged.apkg"
    with zipfile.ZipFile(exported) as source, zipfile.ZipFile(package, "w") as damaged:
        assert "collection.anki21b" in source.namelist()  # its media zstd-compressed
        for entry in source.namelist():
            data = source.read(entry)
            damaged.writestr(entry, data[:4] + b"damaged" if entry == "1" else data)
    notes = tmp_path / "deck" / "notes"
    result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
    assert result.exit_code == 1, result.output
    assert "damaged" in result.output and "nothing written" in result.output
    assert not (tmp_path / "deck").exists()


def test_notes_that_start_alike_get_numbered_ids_in_linear_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notes whose first words are alike (`Which of the following is true ...`) are given
    the id those words make, then `-2`, `-3`, ... in order; each number is tried once in
    all, not again for every note (it was: 20,000 such notes took minutes)."""
    from deckgen import bring, fromanki

    col = Collection(str(tmp_path / "alike.anki2"))
    basic = col.models.by_name("Basic")
    deck = col.decks.id("Quiz")
    count = 300
    for number in range(count):
        note = col.new_note(basic)  # type: ignore[arg-type]
        note["Front"] = f"Which of the following is true about item {number}?"
        note["Back"] = str(number)
        col.add_note(note, deck)
    package = _export(col, tmp_path / "alike.apkg", scheduling=False)
    col.close()
    checks = 0

    class Counted(fromanki.Taken):
        def __contains__(self, note_id: object) -> bool:
            nonlocal checks
            checks += 1
            return super().__contains__(note_id)

    monkeypatch.setattr(bring, "Taken", Counted)
    notes = tmp_path / "deck" / "notes"
    result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
    assert result.exit_code == 0, result.output
    [domain] = [p for p in notes.glob("*.yaml") if p.name != "deck.yaml"]
    ids = [line.split(": ", 1)[1] for line in domain.read_text().splitlines() if "- id: " in line]
    base = "which-of-the-following-is-true"
    assert ids == [base] + [f"{base}-{n}" for n in range(2, count + 1)]
    assert checks <= 4 * count  # (each note: its base, the number tried, the next one)


@settings(max_examples=300, deadline=None)
@given(
    taken=st.lists(st.sampled_from(["a", "a-2", "a-3", "a-5", "b", "b-2", "a-2-2"]), max_size=5),
    bases=st.lists(st.sampled_from(["a", "b", "a-2", "c"]), max_size=30),
    added=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_a_taken_id_is_numbered_as_trying_every_number_would(
    taken: list[str], bases: list[str], added: list[bool]
) -> None:
    """`Taken.unique` gives what trying `base`, `base-2`, `base-3`, ... from the start
    gives, whether or not what it gave is then taken, with ids taken between."""
    from deckgen.fromanki import Taken

    ids, plain = Taken(taken), set(taken)
    for base, add in zip(bases, added, strict=False):
        expected, number = base, 2
        while expected in plain:
            expected, number = f"{base}-{number}", number + 1
        assert ids.unique(base) == expected
        if add:
            ids.add(expected)
            plain.add(expected)


@settings(max_examples=500, derandomize=True)
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    "<img src='a.png'>",
                    '<IMG alt="" SRC="b b.jpg">',
                    "<i>x</i>",
                    "<!--c-->",
                    "<code>",
                    "[sound:s.mp3]",
                    "[SOUND:t.ogg]",
                    "[",
                    "<",
                    "i",
                    "text",
                    "src=",
                ]
            ),
            max_size=6,
        ).map("".join),
        max_size=4,
    )
)
def test_the_files_notes_show_are_found_as_looking_through_every_field_finds_them(
    fields: list[str],
) -> None:
    """`_media_names` passes over fields that cannot show a file without looking through
    them: what it finds is what looking through every field it would find finds."""
    from deckgen import exported

    _assert_media_names([exported.ExportedNote("g", 1, 1, tuple(fields), (), frozenset())])


def test_the_files_thousands_of_notes_show_are_found_as_looking_through_every_field() -> None:
    """The same for a deck of 5,000 notes of fields as a build writes them (text, code,
    emphasis, the fingerprint) and as Anki keeps them (pictures, sounds, other HTML)."""
    import random

    from deckgen import exported

    rng = random.Random(7)
    pieces = [
        "words", "<code>x()</code>", "<em>it</em>", "<!--deckgen AbC+/==-->", "<br>",
        '<img src="p{n}.png">', "<IMG ALT=a SRC='q{n}.jpg'>", "[sound:s{n}.mp3]", "[x]",
        "<i>i</i>", "&lt;img&gt;", "[SOUND:t{n}.ogg]",
    ]  # fmt: skip
    notes = [
        exported.ExportedNote(
            f"g{n}",
            1,
            1,
            tuple(
                "".join(rng.choice(pieces) for _ in range(rng.randrange(4))).format(n=n % 900)
                for _ in range(4)
            ),
            (),
            frozenset(),
        )
        for n in range(5_000)
    ]
    _assert_media_names(notes)


def _assert_media_names(notes: list[Any]) -> None:
    from deckgen import bring

    names: dict[str, None] = {}
    for note in notes:
        for value in note.fields:
            if "<" in value or "[sound:" in value:
                for match in bring._MEDIA.finditer(value):
                    names[match.group(1) or match.group(2)] = None
    assert bring._media_names(notes) == list(names)


def test_pictures_a_build_gave_one_name_come_back_as_files_of_their_own(tmp_path: Path) -> None:
    """Three pictures named alike in their folders (`a/diagram.png`, `b/diagram.png`, and
    `c/Diagram.png`, one name on a file system that ignores case), each its own bytes:
    brought back, each note shows its own picture (none written over another), and the
    folder builds the package it came from again: nothing changed, nothing new."""
    from conftest import write_notes

    notes = tmp_path / "deck" / "notes"
    pictures = {"a/diagram.png": b"1", "b/diagram.png": b"2", "c/Diagram.png": b"3"}
    for path, tail in pictures.items():
        (notes / path).parent.mkdir(parents=True, exist_ok=True)
        (notes / path).write_bytes(PNG + tail)
    facts = "".join(
        f"- id: shows-{n}\n  fact: 'The {{{{c1::picture}}}} {n} ![{n}]({path})'\n"
        for n, path in enumerate(pictures)
    )
    write_notes(notes, {"mlops.yaml": facts})
    runner = CliRunner()
    package = tmp_path / "deck.apkg"
    assert runner.invoke(main, ["build", str(notes), "-o", str(package)]).exit_code == 0
    brought = tmp_path / "brought" / "notes"
    done = runner.invoke(main, ["init", str(brought), "--from", str(package)])
    assert done.exit_code == 0, done.output
    text = (brought / "mlops.yaml").read_text()
    shown = [text.split(f"![{n}](", 1)[1].split(")", 1)[0] for n in range(len(pictures))]
    assert len({path.casefold() for path in shown}) == 3, shown
    assert [(brought / path).read_bytes() for path in shown] == [
        PNG + tail for tail in pictures.values()
    ]
    again = tmp_path / "again.apkg"
    done = runner.invoke(main, ["build", str(brought), "-o", str(again)])
    assert done.exit_code == 0 and "0 changed, 0 new" in done.output, done.output
    # Through Anki: the collection the package went into takes the folder's build as
    # nothing new, nothing changed; a fresh one shows each note its own picture's bytes.
    col = Collection(str(tmp_path / "studied.anki2"))
    try:
        import_package(col, package)
        work = tmp_path / "work"
        work.mkdir()
        assert_the_law(col, brought, work)
    finally:
        col.close()
    fresh = Collection(str(tmp_path / "fresh.anki2"))
    try:
        import_package(fresh, again)
        shown_bytes = []
        for note_id in sorted(fresh.find_notes(""), key=lambda n: fresh.get_note(n)["ID"]):
            src = fresh.get_note(note_id)["Text"].split('src="', 1)[1].split('"', 1)[0]
            shown_bytes.append(Path(fresh.media.dir(), src).read_bytes())
        assert shown_bytes == [PNG + tail for tail in pictures.values()]
    finally:
        fresh.close()


def test_a_second_file_of_a_name_goes_to_a_folder_no_file_is_named() -> None:
    """The folder a second file of one name goes to is never the name of a file beside
    it (a file `2` from Anki, say)."""
    from deckgen.bring import _media_paths

    paths = _media_paths(["2", "x.0123abcd.png", "x.89abcdef.png", "X.png"])
    assert paths == {
        "2": "media/2",
        "x.0123abcd.png": "media/x.png",
        "x.89abcdef.png": "media/2_/x.png",
        "X.png": "media/3/X.png",
    }


def test_a_subdeck_named_deck_keeps_its_notes(tmp_path: Path) -> None:
    """A subdeck `Deck` becomes the domain `deck`, whose notes file beside deck.yaml would
    be deck.yaml itself (its notes were written over by the deck's header, and lost):
    they go in `deck/notes.yaml`, and the folder builds back to what Anki has."""
    col = Collection(str(tmp_path / "decks.anki2"))
    try:
        basic = col.models.by_name("Basic")
        for deck, front in (("Top::Deck", "in Deck"), ("Top::Other", "in Other")):
            note = col.new_note(basic)  # type: ignore[arg-type]
            note["Front"], note["Back"] = front, "back"
            col.add_note(note, col.decks.id(deck))
        package = _export(col, tmp_path / "decks.apkg", scheduling=False)
        notes = tmp_path / "deck" / "notes"
        result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
        assert result.exit_code == 0, result.output
        assert "Brought 2 notes" in result.output
        assert "in Deck" in (notes / "deck" / "notes.yaml").read_text(encoding="utf-8")
        assert "in Other" in (notes / "other.yaml").read_text(encoding="utf-8")
        assert "key: deck," in (notes / "deck.yaml").read_text(encoding="utf-8")
        work = tmp_path / "work"
        work.mkdir()
        assert_the_law(col, notes, work)
    finally:
        col.close()


@pytest.mark.parametrize("processes", [False, True], ids=["here", "in-processes"])
def test_a_declared_type_holds_html_if_any_of_its_fields_would_not_come_back(
    processes: bool,
) -> None:
    """A declared type's fields are its Markdown only if every one comes back as it was:
    one field that would not, anywhere among a thousand (a chunk's first, its middle, the
    last), makes the type hold HTML, whether the fields are converted here or by processes
    that each stop a chunk at its first such field; and every field of a type that is all
    Markdown is kept, converted."""
    from deckgen.bring import _all_markdown
    from deckgen.fromanki import Converter

    words = [f"word {n} <em>stressed</em>" for n in range(1000)]
    fields = Converter.MANY if processes else 1
    with Converter({}, fields) as converter:
        assert (converter.pool is not None) is processes
        kept: dict[str, str] = {}
        assert _all_markdown(words, converter.lossless(words), kept)
        assert kept == {w: w.replace("<em>", "*").replace("</em>", "*") for w in words}
        for at in (0, 256, 300, 999):
            held = [*words[:at], '<span style="color: red">red</span>', *words[at + 1 :]]
            assert not _all_markdown(held, converter.lossless(held), {}), at
