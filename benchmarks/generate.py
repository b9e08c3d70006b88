"""A synthetic deck of N notes across 20 files, the same for the same N: two thirds of the
four kinds, a third of three note types the deck declares (one holding HTML).

python benchmarks/generate.py 20000 /tmp/deck20k [--warnings] [--file-per-note] [--pictures]

With --warnings, one pair in ten names another of its items in a meaning (a warning,
name-in-meaning, in every file); the deck is otherwise the same. With --file-per-note,
the same notes, each in a file of its own, in a folder per domain (as tools that keep
one note per file do). With --pictures, every fourth note shows a picture of its own (a
small PNG in pictures/): 5,000 for 20,000 notes.
"""

from __future__ import annotations

import random
import struct
import sys
import zlib
from pathlib import Path

FILES = 20
WORDS = [
    "model",
    "feature",
    "table",
    "drift",
    "monitor",
    "pipeline",
    "endpoint",
    "serving",
    "batch",
    "alias",
    "champion",
    "challenger",
    "spark",
    "pandas",
    "partition",
    "group",
    "cluster",
    "node",
    "worker",
    "trial",
    "search",
    "tuning",
    "metric",
    "label",
    "schema",
    "vector",
    "index",
    "encoder",
    "registry",
    "catalog",
    "bundle",
    "target",
    "refresh",
    "snapshot",
    "inference",
    "latency",
    "traffic",
    "rollback",
    "canary",
    "shadow",
    "retrain",
    "validate",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:]


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


NOTE_TYPES = """\
note_types:
  - name: Vocabulary
    fields: [Word, Meaning, Example]
    templates:
      - {name: Recognise, front: "{{Word}}", back: "{{FrontSide}}<hr id=answer>{{Meaning}}"}
      - {name: Recall, front: "{{Meaning}}", back: "{{FrontSide}}<hr id=answer>{{Word}}"}
  - name: Cloze with source
    cloze: true
    fields: [Text, Source]
    templates:
      - {name: Cloze, front: "{{cloze:Text}}", back: "{{cloze:Text}}<br>{{Source}}"}
  - name: Rich
    html: true
    fields: [Front, Back]
    templates:
      - {name: Card 1, front: "{{Front}}", back: "{{FrontSide}}<hr id=answer>{{Back}}"}
"""
KINDS = ("fact", "trap", "pair", "scenario", "vocabulary", "cloze", "rich")


def note(rng: random.Random, index: int, warnings: bool = False, picture: str = "") -> str:
    """A note; with `picture` (a path), one that shows it."""
    note_id = f"note-{index:06d}"
    kind = rng.choices(KINDS, weights=(4, 2, 2, 2, 2, 2, 1))[0]
    tags = f"  tags: [topic::t{index % 13}, source::s{index % 3}]\n"
    shown = f" ![Picture {index}]({picture})" if picture else ""
    if kind == "vocabulary":
        return (
            f"- id: {note_id}\n  type: Vocabulary\n  Word: {quoted(sentence(rng, 2))}\n"
            f"  Meaning: >-\n    {sentence(rng, 9)}, *{rng.choice(WORDS)}*.\n"
            f"  Example: {quoted(sentence(rng, 8) + shown)}\n{tags}"
        )
    if kind == "cloze":
        words = sentence(rng, 12).split()
        words[5] = f"{{{{c1::{words[5]}}}}}"
        return (
            f"- id: {note_id}\n  type: Cloze with source\n  Text: >-\n    {' '.join(words)}\n"
            f"  Source: {quoted(sentence(rng, 3) + shown)}\n{tags}"
        )
    if kind == "rich":
        colour = rng.choice(("red", "blue", "green"))
        back = (
            f'<span style="color: {colour}">{sentence(rng, 6)}</span><br><b>{rng.choice(WORDS)}</b>'
        )
        back += f' <img src="{picture}" alt="Picture {index}">' if picture else ""
        return (
            f"- id: {note_id}\n  type: Rich\n  Front: {quoted(sentence(rng, 5))}\n"
            f"  Back: {quoted(back)}\n{tags}"
        )
    tags += f"  extra: {quoted(shown.strip())}\n" if picture else ""
    if kind == "fact":
        words = sentence(rng, 12).split()
        words[3] = f"{{{{c1::`{words[3]}`}}}}"
        words[10] = f"{{{{c2::{words[10]}}}}}"
        return f"- id: {note_id}\n  fact: >-\n    {' '.join(words)}\n{tags}"
    if kind == "trap":
        return (
            f"- id: {note_id}\n  trap: {quoted(sentence(rng, 7))}\n"
            f"  reality: >-\n    {sentence(rng, 11)}.\n{tags}"
        )
    if kind == "pair":
        warn = f" Unlike Item 2 of {index}." if warnings and index % 10 == 0 else ""
        items = "".join(
            f"    - name: {quoted(f'Item {n} of {index}')}\n"
            f"      means: >-\n        {sentence(rng, 7)}.{warn if n == 1 else ''}\n"
            for n in range(1, rng.choice((2, 3)) + 1)
        )
        return f"- id: {note_id}\n  pair:\n{items}  difference: {quoted(sentence(rng, 7))}\n{tags}"
    return (
        f"- id: {note_id}\n  scenario: >-\n    {sentence(rng, 10)}...\n"
        f"  answer: {quoted(sentence(rng, 8))}\n  distractor: {quoted(sentence(rng, 8))}\n"
        f"  why_not: >-\n    {sentence(rng, 7)}.\n{tags}"
    )


def png(number: int) -> bytes:
    """A PNG of its own: 1 x 1 pixel, its colour the number."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(b"\0" + number.to_bytes(3, "big"))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")
    )


def generate(
    count: int,
    folder: Path,
    warnings: bool = False,
    file_per_note: bool = False,
    pictures: bool = False,
) -> Path:
    """Write the deck into `folder` (replacing what is there); return the notes folder."""
    rng = random.Random(count)
    folder.mkdir(parents=True, exist_ok=True)
    domains = "".join(
        f"  - {{key: d{n:02d}, name: Domain {n:02d}, weight: 5}}\n" for n in range(FILES)
    )
    (folder / "deck.yaml").write_text(
        f"name: Benchmark {count}\nkey: benchmark-{count}\ndomains:\n{domains}{NOTE_TYPES}",
        encoding="utf-8",
    )
    for stale in folder.glob("*.lock"):
        stale.unlink()
    per_file = -(-count // FILES)
    for n in range(FILES):
        indices = range(n * per_file, min(count, (n + 1) * per_file))
        notes = [note(rng, i, warnings, _picture(folder, i) if pictures else "") for i in indices]
        if not file_per_note:
            (folder / f"d{n:02d}.yaml").write_text("\n".join(notes), encoding="utf-8")
            continue
        domain = folder / f"d{n:02d}"
        domain.mkdir(exist_ok=True)
        for index, text in zip(indices, notes, strict=True):
            (domain / f"note-{index:06d}.yaml").write_text(text, encoding="utf-8")
    return folder


def _picture(folder: Path, index: int) -> str:
    """Every fourth note's picture, written (its path from the notes files); "" for others."""
    if index % 4:
        return ""
    (folder / "pictures").mkdir(exist_ok=True)
    (folder / "pictures" / f"p{index:06d}.png").write_bytes(png(index))
    return f"pictures/p{index:06d}.png"


if __name__ == "__main__":
    options = sys.argv[3:]
    generate(
        int(sys.argv[1]),
        Path(sys.argv[2]),
        "--warnings" in options,
        "--file-per-note" in options,
        "--pictures" in options,
    )
