"""genanki alone: write the same notes from ready-made Python objects (the yardstick).

    python benchmarks/baseline.py NOTES.pickle OUT.apkg

The pickle holds, per note, its kind, field values, tags and GUID, as deckgen would
produce them; this process imports genanki, makes its models and notes, and writes the
package with genanki's own Package.write_to_file.
"""

from __future__ import annotations

import pickle
import sys

import genanki

from deckgen.notetypes import NOTE_TYPES, NoteType, css


def _model(note_type: NoteType) -> genanki.Model:
    return genanki.Model(
        note_type.model_id,
        note_type.name,
        fields=[{"name": f.name} for f in note_type.fields],
        templates=[
            {"name": t.name, "qfmt": t.html(t.front), "afmt": t.html(t.back)}
            for t in note_type.templates
        ],
        css=css(),
        model_type=genanki.Model.CLOZE if note_type.is_cloze else genanki.Model.FRONT_BACK,
    )


def main(source: str, out: str) -> None:
    with open(source, "rb") as file:
        notes = pickle.load(file)
    models = {kind: _model(note_type) for kind, note_type in NOTE_TYPES.items()}
    deck = genanki.Deck(1 << 40, "Benchmark")
    for kind, fields, tags, guid in notes:
        deck.add_note(genanki.Note(model=models[kind], fields=fields, tags=tags, guid=guid))
    genanki.Package(deck).write_to_file(out, timestamp=1_700_000_000)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
