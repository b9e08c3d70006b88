"""The law of `init --from`, on generated decks: random note types (fields, templates with
sections), notes of random HTML and tags in random subdecks, studied; exported, brought
in, built: imported into the collection it came from, nothing new, updated or conflicting
and every card as it was; into a fresh one, every card showing what it showed."""

from __future__ import annotations

from pathlib import Path

from anki.collection import Collection, ExportAnkiPackageOptions
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bring import assert_the_law

from deckgen.cli import main

SNIPPETS = [
    "",
    "plain words",
    "<b>bold</b>",
    "<i>it</i> and <u>under</u>",
    '<span style="color: rgb(255, 0, 0);">red</span>',
    "one<br>two",
    "<ul><li>a</li><li>b</li></ul>",
    "<table><tr><td>1</td><td>2</td></tr></table>",
    '<a href="https://example.org">a link</a>',
    "x &amp; y &lt; z",
    "<div>block</div>",
    "\\(x^2\\)",
    "<ruby>漢<rt>kan</rt></ruby>",
    "<code>code()</code>",
]


@st.composite
def collections(draw: st.DrawFn) -> dict[str, object]:
    fields = draw(
        st.lists(
            st.sampled_from(["Front", "Back", "Extra", "Hint"]), min_size=2, max_size=4, unique=True
        )
    )
    second = draw(st.sampled_from([None, *fields[1:]]))
    notes = draw(
        st.lists(
            st.tuples(
                st.lists(st.sampled_from(SNIPPETS), min_size=len(fields), max_size=len(fields)),
                st.lists(
                    st.sampled_from(["a", "b::c", "Big::Tag", "x_y"]), max_size=2, unique=True
                ),
                st.sampled_from(["Top", "Top::Part 1", "Top::Part 1::Ch 2", "Top::Other"]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return {"fields": fields, "second": second, "notes": notes}


def _made(path: Path, spec: dict[str, object]) -> Collection:
    col = Collection(str(path))
    fields = list(spec["fields"])  # type: ignore[call-overload]
    model = col.models.new("Generated")
    for name in fields:
        col.models.add_field(model, col.models.new_field(name))
    first = col.models.new_template("Card 1")
    first["qfmt"], first["afmt"] = (
        f"{{{{{fields[0]}}}}}",
        "{{FrontSide}}<hr id=answer>" + "".join(f"{{{{{f}}}}}" for f in fields[1:]),
    )
    col.models.add_template(model, first)
    if spec["second"]:
        other = col.models.new_template("Card 2")
        other["qfmt"] = (
            f"{{{{#{spec['second']}}}}}{{{{{spec['second']}}}}}{{{{/{spec['second']}}}}}"
        )
        other["afmt"] = f"{{{{FrontSide}}}}<hr id=answer>{{{{{fields[0]}}}}}"
        col.models.add_template(model, other)
    col.models.add(model)
    for values, tags, deck in spec["notes"]:  # type: ignore[attr-defined]
        values = [values[0] or "first", *values[1:]]  # Anki shows a note by its first field
        note = col.new_note(model)
        for name, value in zip(fields, values, strict=True):
            note[name] = value
        note.tags = list(tags)
        col.add_note(note, col.decks.id(deck))
    for card_id in col.find_cards("")[:2]:
        card = col.get_card(card_id)
        card.start_timer()
        col.sched.answerCard(card, 3)
    return col


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(collections())
def test_the_law_holds_for_generated_decks(
    tmp_path_factory: object, spec: dict[str, object]
) -> None:
    work = tmp_path_factory.mktemp("law")  # type: ignore[attr-defined]
    col = _made(work / "original.anki2", spec)
    try:
        package = work / "export.apkg"
        options = ExportAnkiPackageOptions(with_scheduling=True, with_media=True, legacy=False)
        col.export_anki_package(out_path=str(package), options=options, limit=None)
        notes = work / "notes"
        result = CliRunner().invoke(main, ["init", str(notes), "--from", str(package)])
        assert result.exit_code == 0, result.output
        assert_the_law(col, notes, work)
    finally:
        col.close()
