"""genanki alone: write the same notes from ready-made Python objects (the yardstick).

    python benchmarks/baseline.py NOTES.pickle OUT.apkg

The pickle holds the note types (id, name, fields, templates, CSS, cloze or not) and,
per note, its kind, field values, tags and GUID, as deckgen would produce them. This
process imports nothing of deckgen: it loads the pickle, makes genanki's models and
notes, and writes the package with genanki's own Package.write_to_file.
"""

from __future__ import annotations

import pickle
import sys

import genanki


def main(source: str, out: str) -> None:
    with open(source, "rb") as file:
        note_types, notes = pickle.load(file)
    models = {
        kind: genanki.Model(
            model_id,
            name,
            fields=[{"name": field} for field in fields],
            templates=[{"name": t, "qfmt": front, "afmt": back} for t, front, back in templates],
            css=css,
            model_type=genanki.Model.CLOZE if is_cloze else genanki.Model.FRONT_BACK,
        )
        for kind, (model_id, name, fields, templates, css, is_cloze) in note_types.items()
    }
    deck = genanki.Deck(1 << 40, "Benchmark")
    for kind, fields, tags, guid in notes:
        deck.add_note(genanki.Note(model=models[kind], fields=fields, tags=tags, guid=guid))
    genanki.Package(deck).write_to_file(out, timestamp=1_700_000_000)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
