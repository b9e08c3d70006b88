"""The lock file: its text form, merges, and the times it gives each note."""

from __future__ import annotations

import json
import random
from pathlib import Path

from conftest import ONE_OF_EACH, load, write_notes
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen.lock import Lock, NoteEntries, NoteEntry, NotetypeEntry, parse
from deckgen.notetypes import Schema
from deckgen.records import _content
from deckgen.revision import revise

SCHEMA = Schema(((11, "Text"), (12, "Extra")), ((21, "Cloze"),))
LOCK = Lock(
    "test-deck",
    NoteEntries(
        [
            NoteEntry("b-note", "trap", "mlops", 1700000100, "00aa11bb22cc33dd"),
            NoteEntry("a-note", "fact", "general", 1700000000, "ffee", retired=True),
        ]
    ),
    {"fact": NotetypeEntry("fact", 1700000000, "abcd", SCHEMA)},
)


def test_the_lock_is_sorted_text_one_entry_per_line() -> None:
    text = LOCK.dump()
    entries = [line for line in text.splitlines() if not line.startswith("#")]
    assert entries == [
        "deck test-deck",
        "note a-note fact general 1700000000 ffee retired",
        "note b-note trap mlops 1700000100 00aa11bb22cc33dd",
        'notetype fact 1700000000 abcd {"fields":[[11,"Text"],[12,"Extra"]],'
        '"templates":[[21,"Cloze"]]}',
    ]
    assert parse(text, "deck.lock") == (LOCK, [])


def test_after_a_merge_conflict_the_newer_entry_of_each_note_wins() -> None:
    text = LOCK.dump().replace(
        "note b-note trap mlops 1700000100 00aa11bb22cc33dd\n",
        "<<<<<<< ours\n"
        "note b-note trap mlops 1700000100 00aa11bb22cc33dd\n"
        "=======\n"
        "note b-note trap mlops 1700000900 99aa11bb22cc33dd\n"
        ">>>>>>> theirs\n",
    )
    lock, problems = parse(text, "notes/deck.lock")

    assert lock is not None
    assert lock.notes["b-note"].mod == 1700000900
    assert [str(p) for p in problems] == [
        "notes/deck.lock:1:1: warning: merge conflict markers in the lock: both sides'"
        " entries are kept, the newer of each wins, and the next build writes it clean"
        " [lock-merged]"
    ]


def test_a_malformed_entry_is_an_error_at_its_line() -> None:
    text = LOCK.dump() + "note half-written fact\n"
    lock, problems = parse(text, "notes/deck.lock")
    assert lock is None
    assert [str(p) for p in problems] == [
        "notes/deck.lock:7:1: error: malformed lock entry: expected"
        " 'note <id> <kind> <domain> <mod> <hash> [retired]'; if the lock cannot be mended,"
        " delete it (every note then counts as changed once) [lock-syntax]"
    ]


def test_times_follow_content(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    deck = load(folder)
    first = revise(deck, None, 1000)
    assert {entry.mod for entry in first.lock.notes.values()} == {1000}
    assert set(first.added) == {r.note_id for r in deck.records()}

    same = revise(deck, first.lock, 5000)
    assert same.lock == first.lock
    assert (same.added, same.changed, same.retired) == ((), (), ())

    (folder / "general.yaml").write_text("- id: timing\n  fact: '{{c1::59}} questions'\n")
    edited = revise(load(folder), first.lock, 900)  # a clock behind the lock's
    assert edited.changed == ("timing",)
    assert edited.mod("timing") == 1001

    (folder / "general.yaml").unlink()
    removed = revise(load(folder), edited.lock, 7000)
    [stone] = removed.tombstones
    assert (stone.note_id, removed.mod("timing"), stone.ords) == ("timing", 7000, ())
    assert removed.retired == ("timing",)
    again = revise(load(folder), removed.lock, 9000)
    assert again.retired == () and again.lock == removed.lock


def test_a_returning_note_is_newer_than_its_tombstone(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    before = revise(load(folder), None, 1000)
    general = (folder / "general.yaml").read_text()
    (folder / "general.yaml").unlink()
    retired = revise(load(folder), before.lock, 2000)
    (folder / "general.yaml").write_text(general)

    back = revise(load(folder), retired.lock, 2000)

    assert back.changed == ("timing",)
    assert back.mod("timing") == 2001
    assert back.tombstones == () and not back.lock.notes["timing"].retired


TEXT = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('"\\\n\x00\u2028'))


@settings(max_examples=2000, derandomize=True)
@given(TEXT, st.lists(TEXT, max_size=5), st.lists(TEXT, max_size=4), TEXT)
def test_what_a_note_hash_covers_is_written_as_json_writes_it(
    kind: str, values: list[str], tags: list[str], deck: str
) -> None:
    # Every lock in git holds hashes of json.dumps' text: a note's hash must not change.
    assert _content(kind, values, tags, deck) == json.dumps(
        [kind, values, tags, deck], ensure_ascii=False
    )


WORD = st.text(alphabet="abcdef0123-:", min_size=1, max_size=6)


@settings(max_examples=1000, derandomize=True)
@given(
    st.builds(
        NoteEntry,
        id=WORD,
        kind=WORD,
        domain=WORD,
        mod=st.integers(0, 2**40),
        digest=WORD,
        retired=st.booleans(),
        live_digest=st.sampled_from(["", "ab12"]),
    ),
    WORD,
    WORD,
    WORD,
)
def test_an_entry_is_unchanged_when_its_kind_domain_and_hash_are_and_it_is_live(
    entry: NoteEntry, kind: str, domain: str, digest: str
) -> None:
    entries = NoteEntries([entry])
    for asked in [(entry.kind, entry.domain, entry.digest), (kind, domain, digest)]:
        expected = not entry.retired and (entry.kind, entry.domain, entry.digest) == asked
        assert entries.unchanged(entry.id, *asked) == expected


# Lines of a lock, as builds, merges and hands write them: notes' lines as a build writes
# them (ids from a few, so that an id comes twice, at other times), and every other kind.
_LOCK_LINES = st.one_of(
    st.tuples(
        st.sampled_from(["a", "b-note", "c", "é-ü", "x" * 30]),
        st.sampled_from(["fact", "trap", "pair"]),
        st.sampled_from(["mlops", "d1"]),
        st.integers(0, 3).map(lambda n: [0, 7, 1700000000, 1700000001][n]),
        st.sampled_from(["00aa11bb22cc33dd", "ffee", "0"]),
    ).map(lambda e: "note {} {} {} {} {}".format(*e)),
    st.sampled_from(
        [
            "",
            "   ",
            "# deckgen lock: a comment",
            "deck test-deck",
            "note a fact mlops 1700000000 ffee retired",
            "note a fact mlops 1700000002 ffee retired 00aa",
            "note b-note trap mlops 0017 ffee",  # a time with leading zeros
            "note c fact mlops 1700000000 ffee ",  # a space at its end
            "note\tc fact mlops 1700000000 ffee",
            "note c fact\u00a0mlops 1700000000 ffee",
            "note c fact mlops 17e3 ffee",
            "note c fact mlops",
            "note",
            "notetype fact 1700000000 abcd "
            '{"fields":[[11,"Text"],[12,"Extra"]],"templates":[[21,"Cloze"]]}',
            "notetype fact 12",
            "something else",
            "<<<<<<< HEAD",
            "=======",
            ">>>>>>> theirs",
        ]
    ),
)


@settings(max_examples=1500, derandomize=True)
@given(st.lists(_LOCK_LINES, max_size=30), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_a_note_line_as_a_build_writes_it_is_read_as_any_other_line_is(
    lines: list[str], end: str, last_end: bool
) -> None:
    """`parse` reads a note's line as a build writes it with one pattern over the whole
    text, every other line one at a time: the same lock and the same problems (at the
    same lines) as the same text with those lines' single spaces doubled, which `parse`
    reads a line at a time and makes single again."""
    text = end.join(lines) + (end if last_end else "")
    doubled = end.join(
        line.replace(" ", "  ") if line.startswith("note ") else line for line in lines
    ) + (end if last_end else "")
    assert parse(text, "deck.lock") == parse(doubled, "deck.lock")


def test_a_large_lock_is_read_as_every_line_one_at_a_time_reads_it() -> None:
    """The same on a lock of thousands of notes, as builds and merges write them: live and
    retired entries, an id on both sides of a merge at other times, a time written with
    leading zeros."""
    rng = random.Random(5)
    entries = NoteEntries(
        NoteEntry(
            f"note-{n:05d}",
            rng.choice(["fact", "trap", "pair"]),
            f"d{n % 20:02d}",
            1_700_000_000 + rng.randrange(10_000),
            f"{rng.getrandbits(64):016x}",
            retired=n % 97 == 0,
            live_digest="ffee" if n % 194 == 0 else "",
        )
        for n in range(6_000)
    )
    text = Lock("big-deck", entries, LOCK.notetypes).dump()
    theirs = "".join(
        f"note note-{n:05d} fact d00 {1_700_000_000 + n} aa\n" for n in range(0, 6_000, 7)
    )
    text += f"<<<<<<< HEAD\n{theirs}=======\nnote note-00003 fact d00 0017000000099 bb\n>>>>>>> x\n"
    doubled = "\n".join(
        line.replace(" ", "  ") if line.startswith("note ") else line for line in text.split("\n")
    )
    read = parse(text, "deck.lock")
    assert read == parse(doubled, "deck.lock")
    assert read[0] is not None and len(read[0].notes) == 6_000
