"""The `deckgen` command: parse arguments, call the library, print, choose the exit code."""

from __future__ import annotations

from pathlib import Path

import click

from deckgen import package, stats
from deckgen.diagnostics import has_errors, summary
from deckgen.notes import Deck
from deckgen.validate import load_deck

NOTES_DIR = click.argument(
    "notes_dir",
    default="notes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)


@click.group(name="deckgen", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deckgen")
def main() -> None:
    """Turn study notes kept as YAML into an Anki package (.apkg).

    \b
    Example:
      deckgen check notes
      deckgen build notes -o dist/my-deck.apkg
    """


def _load(notes_dir: Path) -> Deck:
    """Load and check the notes; print every problem; exit 1 if any is an error."""
    deck, problems = load_deck(notes_dir)
    for problem in problems:
        click.echo(str(problem), err=True)
    if deck is None or has_errors(problems):
        click.echo(f"{notes_dir}: {summary(problems)}; nothing written", err=True)
        raise click.exceptions.Exit(1)
    return deck


@main.command()
@NOTES_DIR
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the package (default: dist/<deck key>.apkg).",
)
def build(notes_dir: Path, output: Path | None) -> None:
    """Build NOTES_DIR (default: notes) into an Anki package.

    Nothing is written if any note has an error, and an existing package is
    replaced only once the new one is complete.

    \b
    Example:
      deckgen build notes -o dist/ml-professional.apkg
    """
    deck = _load(notes_dir)
    out = output or Path("dist") / f"{deck.key}.apkg"
    try:
        package.write(deck, out)
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error.strerror or error}") from error
    click.echo(f"Wrote {out}: {stats.summary(deck)}")


@main.command()
@NOTES_DIR
def check(notes_dir: Path) -> None:
    """Check NOTES_DIR (default: notes) without writing anything.

    Prints each problem as path:line:col: level: message [code] and exits 1
    if any is an error.

    \b
    Example:
      deckgen check notes
    """
    deck = _load(notes_dir)
    click.echo(f"{notes_dir}: {len(deck.notes)} notes, no errors")


@main.command(name="stats")
@NOTES_DIR
def stats_command(notes_dir: Path) -> None:
    """Show notes by domain and kind, and the cards they make.

    \b
    Example:
      deckgen stats notes
    """
    click.echo(stats.table(_load(notes_dir)))
