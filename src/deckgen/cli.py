"""The `deckgen` command: parse arguments, call the library, print, choose the exit code."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from deckgen import __version__
from deckgen.diagnostics import START, Diagnostic, has_errors, summary

# Each command imports what it needs when it runs: start-up is most of a small build.
if TYPE_CHECKING:
    from deckgen.records import Deck

T = TypeVar("T")
# Below this much YAML a build is too quick for a progress bar to mean anything.
PROGRESS_FROM = 1 << 20


def _format(other: str, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format text|OTHER|json` (as `output`): how a command prints what it found."""
    return click.option(
        "--format",
        "output",
        type=click.Choice(["text", other, "json"]),
        default="text",
        show_default=True,
        help=help,
    )


NOTES_DIR = click.argument(
    "notes_dir",
    default="notes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)


@click.group(name="deckgen", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deckgen")
def main() -> None:
    """Turn study notes kept as YAML into an Anki package (.apkg).

    \b
    Example:
      deckgen check notes
      deckgen build notes -o dist/my-deck.apkg
    """


def run() -> None:
    """The `deckgen` command. A short run that makes many small objects and no cycles:
    the cyclic garbage collector would only cost time (a third of a large build), and so
    would the interpreter freeing every object and module one by one at exit (a tenth of
    a small build): once the output is flushed, the process ends. Every file deckgen
    writes is complete and closed, and every process it starts stopped, before then."""
    gc.disable()
    try:
        main(prog_name="deckgen")
        code: int | str | None = 0
    except SystemExit as exit:
        code = exit.code
    if isinstance(code, str):  # what sys.exit("message") would print
        print(code, file=sys.stderr)
        code = 1
    with contextlib.suppress(OSError):  # a closed pipe (`deckgen stats | head`)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


def _load(notes_dir: Path) -> Deck:
    """Load and check the notes; print every problem; exit 1 if any is an error."""
    from deckgen.load import load

    loaded = load(notes_dir)
    return _report(loaded.deck, loaded.problems, notes_dir)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback (bytes of notes read, in all): click's bar on a terminal for a
    large deck; nothing when the output is not a terminal."""
    terminal = sys.stderr.isatty()
    with contextlib.ExitStack() as stack:
        bar: Any = None

        def update(done: int, total: int) -> None:
            nonlocal bar
            if total < PROGRESS_FROM or not terminal:
                return
            if bar is None:
                bar = stack.enter_context(
                    click.progressbar(length=total, label=label, file=sys.stderr)
                )
            bar.update(done - bar.pos)

        yield update


def _color() -> bool | None:
    """Colour on a terminal (click's own detection), never with NO_COLOR set."""
    return False if os.environ.get("NO_COLOR") else None


_STYLES: dict[str, dict[str, Any]] = {
    "where": {"bold": True},
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "code": {"dim": True},
}


def _styled(problem: Diagnostic) -> str:
    return problem.format(lambda text, part: click.style(text, **_STYLES[part]))


@main.command()
@NOTES_DIR
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the package (default: dist/<deck key>.apkg beside NOTES_DIR).",
)
@click.option(
    "--drop-retired",
    is_flag=True,
    help="Leave out the tombstones of notes removed from the notes (for a first-time deck).",
)
@click.option(
    "--allow-schema-change",
    is_flag=True,
    help="Ship note types whose fields or templates were added, removed or reordered.",
)
@click.option(
    "--new-key",
    is_flag=True,
    help="Accept a changed deck key: start a new deck, forgetting the lock's notes.",
)
@click.option(
    "--check-reproducible",
    is_flag=True,
    help="Build again, a day later by the clock, from the new lock; fail unless identical.",
)
def build(
    notes_dir: Path,
    output: Path | None,
    drop_retired: bool,
    allow_schema_change: bool,
    new_key: bool,
    check_reproducible: bool,
) -> None:
    """Build NOTES_DIR (default: notes) into an Anki package.

    Each note keeps the modification time recorded in NOTES_DIR/deck.lock unless it
    changed, so that re-importing updates exactly the notes you edited. Notes removed
    from NOTES_DIR are shipped as retired tombstones that empty their cards. The lock is
    updated with the package; commit it with the notes.

    Nothing is written if any note has an error, and an existing package is replaced
    only once the new one is complete (never a file that is not a package: a notes file
    named by mistake is left as it is).

    \b
    Example:
      deckgen build notes -o dist/ml-professional.apkg
    """
    from deckgen import build as build_
    from deckgen import stats

    now = int(time.time())
    options = build_.Options(drop_retired, allow_schema_change, new_key)
    later = now + 86_400 if check_reproducible else None
    outputs: list[Path] = []

    def output_of(deck: Deck) -> Path:
        outputs.append(output or _dist(notes_dir) / f"{deck.key}.apkg")
        return outputs[0]

    try:
        with _progress("Building") as progress:
            made, problems = build_.build(
                notes_dir, output_of, now, options, progress=progress, check_reproducible_at=later
            )
    except build_.NotReproducible as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:
        where = outputs[0] if outputs else notes_dir
        raise click.ClickException(f"cannot write {where}: {error.strerror or error}") from error
    made = _report(made, problems, notes_dir)
    out = outputs[0]
    revision = made.revision
    if not revision.had_lock:
        click.echo(
            f"{made.lock_path}: no lock yet, so every note counts as changed; it is written now",
            err=True,
        )
    changes = (
        f"{len(revision.changed)} changed, {len(revision.added)} new,"
        f" {len(revision.retired)} retired"
    )
    pulled = made.deck.pulled(revision.added)
    if pulled:  # new to the notes, not to Anki: it has them, and updates them
        changes += (
            f" ({len(pulled)} of the new were pulled from Anki, which has them: it updates"
            " them, and counts them as updated)"
        )
    reproducible = " (reproducible)" if check_reproducible else ""
    contents = stats.summary(made.deck)
    click.echo(f"Wrote {out}{reproducible}: {contents}; {changes}")
    _refresh_schemas(notes_dir, made.deck)
    if not revision.had_lock:  # a new deck: what to do now, in one line
        click.echo(
            f"Next: import {out} into Anki (File > Import); then edit the notes, build again"
            " and import again: your reviews stay"
        )


def _refresh_schemas(notes_dir: Path, deck: Deck) -> None:
    """The deck's schemas, if it has them, brought up to date with deck.yaml (a schema
    that cannot be written is said, and costs only the editor's help)."""
    from deckgen import schema

    try:
        written = schema.refresh(notes_dir, deck)
    except OSError as error:
        where = error.filename or notes_dir
        click.echo(f"{where}: warning: schema not updated: {error.strerror or error}", err=True)
        return
    if written:
        click.echo(f"Updated {', '.join(str(path) for path in written)} (from deck.yaml)")


def _dist(notes_dir: Path) -> Path:
    """Where a deck's package and preview go by default: `dist/` beside its notes folder
    (its parent's), wherever deckgen is run from; shown from here when the notes were."""
    dist = notes_dir.resolve().parent / "dist"
    return dist if notes_dir.is_absolute() else Path(os.path.relpath(dist))


def _report(
    made: T | None,
    problems: list[Diagnostic],
    notes_dir: Path,
    printed: list[Diagnostic] | None = None,
) -> T:
    """Print every problem (but those `printed` already, in another format); exit 1
    unless there is a result and no error."""
    for problem in problems:
        click.echo(_styled(problem), err=True, color=_color())
    found = problems if printed is None else printed
    if made is None or has_errors(found):
        click.echo(f"{notes_dir}: {summary(found)}; nothing written", err=True)
        raise click.exceptions.Exit(1)
    return made


@main.command(name="diff")
@click.argument(
    "old",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "-n",
    "--notes",
    "notes_dir",
    default="notes",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The notes to compare.",
)
@_format(
    "markdown",
    "How to print the report: for the terminal, as Markdown (release notes, a pull"
    " request's comment), or as JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
def diff_command(old: Path | None, notes_dir: Path, output: str, as_json: bool) -> None:
    """Compare the notes with a package users already have (default: the last build,
    dist/<deck key>.apkg beside the notes).

    Lists the notes a build would add, change (which fields, with a word diff) or retire,
    the note type changes, and what Anki will do with each on import with its default
    options. Nothing is written.

    \b
    Example:
      deckgen diff dist/shared-last-week.apkg
      deckgen diff last-release.apkg --format markdown > release-notes.md
    """
    from deckgen import build as build_
    from deckgen import diff
    from deckgen.exported import PackageError

    options = build_.Options(allow_schema_change=True)
    made = _report(*build_.prepare(notes_dir, int(time.time()), options), notes_dir)
    if old is None:
        old = _dist(notes_dir) / f"{made.deck.key}.apkg"
        if not old.exists():
            raise click.UsageError(f"no package at {old} to compare with: name the one to use")
    try:
        report = diff.compare(old, made)
    except PackageError as error:
        raise click.ClickException(f"{old}: {error}") from error
    output = "json" if as_json else output
    shown = {"json": report.to_json, "markdown": report.to_markdown, "text": report.to_text}
    click.echo(shown[output]())


@main.command()
@click.argument("folder", default="notes", type=click.Path(path_type=Path))
@click.option(
    "--name",
    default="My Exam",
    show_default=True,
    help="The deck's name in Anki (it may change later).",
)
@click.option("--key", help="The deck's permanent key  [default: made from the name]")
@click.option(
    "--from",
    "package",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Bring in a deck you have in Anki: a package exported from it (.apkg, .colpkg).",
)
@click.option("--deck", help="With --from: the top deck to bring, if the package holds several.")
def init(folder: Path, name: str, key: str | None, package: Path | None, deck: str | None) -> None:
    """Start a deck of your own in FOLDER (default: notes).

    Writes FOLDER/deck.yaml (the deck's name, key, one domain and the tags notes may use)
    and FOLDER/first-domain.yaml (one note of each kind, each with a comment saying what
    its cards will look like), the JSON Schemas an editor checks them with, and beside
    FOLDER a .gitignore for what builds make and .github/workflows/deck.yml, which checks,
    builds and releases the deck on GitHub (unless they are there). A folder that already
    holds notes is left alone.

    \b
    The whole path, from install to re-import:
      pipx install ./deckgen              (a clone of deckgen's repository, or its wheel;
                                           not `pip install deckgen`: another project)
      deckgen init --name "AWS Solutions Architect"
      (edit notes/deck.yaml and notes/first-domain.yaml)
      deckgen build                        (writes dist/<key>.apkg)
      (import it into Anki: File > Import)
      (edit the notes again)
      deckgen build                        (then import again: reviews stay)
    """
    if package is not None:
        _init_from(package, folder, deck)
        return
    from deckgen.init import InitError
    from deckgen.init import init as init_

    try:
        written = init_(folder, name, key)
    except InitError as error:
        click.echo(f"Error: {error}; nothing written", err=True)
        raise click.exceptions.Exit(1) from error
    notes = [path.name for path in written if path.parent == folder and path.suffix == ".yaml"]
    schemas = [path.name for path in written if path.parent == folder and path.suffix == ".json"]
    click.echo(f"Created {folder}/: {', '.join(notes)} (one note of each kind, ready to edit)")
    click.echo(
        f"Created {folder}/: {', '.join(schemas)} (for an editor to check and complete the"
        " notes: see `deckgen schema --help`)"
    )
    for path in written:
        if path.name == ".gitignore":
            click.echo(f"Created {os.path.relpath(path)}: git leaves out dist/ and the cache")
        elif path.suffix == ".yml":
            click.echo(
                f"Created {os.path.relpath(path)}: GitHub checks and builds the deck on every"
                " push, and releases it on a version tag"
            )
    click.echo(f"Next: edit them, then `deckgen build {folder}`, and import the package into Anki")


def _init_from(package: Path, folder: Path, deck: str | None) -> None:
    """init --from: the deck brought in, or why not (exit 1, nothing written)."""
    from deckgen.bring import BringError, bring

    try:
        brought = bring(package, folder, deck)
    except BringError as error:
        click.echo(f"Error: {package}: {error}; nothing written", err=True)
        raise click.exceptions.Exit(1) from error
    for notice in brought.notices:
        click.echo(f"{package}: warning: {notice}", err=True)
    click.echo(f"Brought {brought.notes} notes into {folder}/ ({len(brought.files)} files)")
    click.echo(
        f"Next: `deckgen build {folder}`, and import the package into the collection it came"
        " from: nothing new, nothing changed there; then edit, build and import as usual"
    )


@main.command()
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@NOTES_DIR
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option(
    "--prefer",
    type=click.Choice(["anki", "notes"]),
    help="Settle every conflict: keep Anki's text, or the notes'.",
)
def pull(package: Path, notes_dir: Path, dry_run: bool, prefer: str | None) -> None:
    """Bring edits made in Anki back into NOTES_DIR (default: notes).

    PACKAGE is the deck as exported from Anki (File > Export > Anki Deck Package, on
    desktop or phone; either format). Fields and tags edited in Anki are written back into
    the YAML, changing nothing else in it; notes added in Anki to the deck's subdecks are
    added, keeping their GUID. An unedited copy of an older build changes nothing. A note
    edited both in Anki and in the notes since is a conflict: nothing is written unless
    --prefer settles it.

    \b
    Example:
      deckgen pull ~/Downloads/my-deck.apkg --dry-run
      deckgen pull ~/Downloads/my-deck.apkg
    """
    from deckgen import files
    from deckgen import pull as pull_

    pulled = pull_.pull(package, notes_dir, prefer)
    if not dry_run:  # every file it is to write, checked before any is written
        for path in pulled.files:
            why = files.unwritable(path)
            if why is not None:
                pulled.problems.append(Diagnostic(str(path), START, "cannot-write", why))
    for problem in pulled.problems:
        click.echo(_styled(problem), err=True, color=_color())
    conflicts = pulled.conflicts if prefer is None else []
    for change in conflicts:
        message = f"'{change.note_id}' conflicts: {change.why}"
        conflict = Diagnostic(change.path, change.position, "pull-conflict", message)
        click.echo(_styled(conflict), err=True, color=_color())
        for field in change.fields:
            for side, text in (("in the notes:", field.notes), ("in Anki:     ", field.anki)):
                lines = text.split("\n")
                click.echo(f"    {field.name} {side} {lines[0]}", err=True)
                indent = " " * (len(field.name) + len(side) + 6)
                for line in lines[1:]:
                    click.echo(f"{indent}{line}", err=True)
    if has_errors(pulled.problems) or conflicts:
        found = [summary(pulled.problems)] if has_errors(pulled.problems) else []
        if conflicts:
            found.append(f"{len(conflicts)} conflicting note(s)")
            found.append("nothing written (--prefer anki or --prefer notes settles them)")
        else:
            found.append("nothing written")
        click.echo(f"{notes_dir}: {'; '.join(found)}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(pull_.report(pulled, package, notes_dir, prefer))
    if dry_run:
        click.echo("Dry run: nothing written")
        return
    try:
        files.write_all(pulled.files)
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        click.echo(f"Error: {where}{error.strerror or error}; nothing written", err=True)
        raise click.exceptions.Exit(1) from error
    if pulled.files:
        click.echo(f"Wrote {len(pulled.files)} file(s); see git diff, then deckgen build")


@main.command()
@NOTES_DIR
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help=(
        "The folder to write the page into: new, empty or one a preview was written into"
        " (default: dist/preview beside NOTES_DIR)."
    ),
)
@click.option("--open", "open_page", is_flag=True, help="Open the page in the browser.")
@click.option(
    "--watch",
    is_flag=True,
    help="Serve the page on 127.0.0.1 and update it on every save in NOTES_DIR (Ctrl-C stops).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="With --watch: the port to serve on  [default: a free one]",
)
def preview(notes_dir: Path, output: Path | None, open_page: bool, watch: bool, port: int) -> None:
    """Write a page showing every card, front and back, exactly as Anki renders it.

    The cards are rendered by Anki's own engine, so the optional `anki` library is
    needed (where it is missing, deckgen says how to add it to the way it was
    installed). The page works offline, with a filter box (words, tag:..., kind:...,
    domain:...) and a night-mode switch.

    With --watch, the page is served on 127.0.0.1 (its address printed) and kept up to
    date as you write: each save in NOTES_DIR rebuilds what changed, and the page
    replaces those cards where they stand; an error shows above the cards, at its
    file:line:col, until it is fixed. Nothing is written.

    \b
    Example:
      deckgen preview notes --open
      deckgen preview --watch --open
    """
    from deckgen import preview as preview_

    try:
        if watch:
            _watch(notes_dir, port, open_page)
            return
        _preview(notes_dir, output, open_page)
    except preview_.AnkiMissing as error:
        click.echo(
            "Error: deckgen preview renders cards with Anki's own engine, from the `anki`"
            f" package, which is not installed ({error}). Add it with:\n"
            f"  {_add_anki()}",
            err=True,
        )
        raise click.exceptions.Exit(MISSING_PART) from error


def _preview(notes_dir: Path, output: Path | None, open_page: bool) -> None:
    from deckgen import build as build_
    from deckgen import preview as preview_

    out = output or _dist(notes_dir) / "preview"
    refused = preview_.not_a_preview(out)
    if refused is not None:
        click.echo(f"Error: {out}: {refused}; nothing written", err=True)
        raise click.exceptions.Exit(1)
    made = _report(*build_.prepare(notes_dir, int(time.time())), notes_dir)
    rendered = preview_.render(made)
    index = preview_.write_site(made, rendered, out)
    cards = sum(len(note.cards) for note in rendered.notes)
    click.echo(f"Wrote {index}: {len(rendered.notes)} notes, {cards} cards")
    if open_page:
        _open(str(index.resolve()), index.resolve().as_uri())


def _open(target: str, shown: str) -> None:
    if click.launch(target) != 0:
        click.echo(f"No browser could be opened here: open {shown} in one", err=True)


def _watch(notes_dir: Path, port: int, open_page: bool) -> None:
    """preview --watch: serve and update the page until Ctrl-C."""
    from deckgen.watch import watch

    said: list[str] = []  # the problems last printed: each printed once, until it changes

    def report(problems: list[Diagnostic], count: int, first: bool) -> None:
        shown = [problem.format() for problem in problems]
        if shown == said and not count and not first:
            return  # a save that changed nothing the page shows
        if shown != said:
            for problem in problems:
                click.echo(_styled(problem), err=True, color=_color())
        when = time.strftime("%H:%M:%S")
        if has_errors(problems):
            kept = "the page shows them, until fixed" if first else "the page keeps the last cards"
            click.echo(f"{when} {notes_dir}: {summary(problems)}; {kept}")
        elif first:
            click.echo(f"{when} {notes_dir}: {count} notes")
        else:
            said_of = summary(problems) if problems else "no errors"
            click.echo(f"{when} {notes_dir}: {count} note(s) shown anew, {said_of}")
        said[:] = shown

    def started(address: str) -> None:
        click.echo(f"Serving {address} (Ctrl-C to stop)")
        if open_page:
            _open(address, address)

    try:
        watch(notes_dir, port, report, started)
    except OSError as error:  # the port taken, say
        raise click.ClickException(
            f"cannot serve the preview: {error.strerror or error}"
        ) from error
    except KeyboardInterrupt:
        click.echo("Stopped")


# The exit code of a command that needs an optional part deckgen was installed without.
MISSING_PART = 3
ANKI = "anki>=25.2"  # as the `preview` extra asks for it


def _add_anki() -> str:
    """The command that adds `anki` to this deckgen, as it was installed: pipx and uv
    keep each tool in an environment of its own, which plain pip does not reach."""
    prefix = Path(sys.prefix)
    if prefix.parent.name == "venvs" and "pipx" in prefix.parts:
        return f"pipx inject {prefix.name} '{ANKI}'"
    if prefix.parent.name == "tools" and "uv" in prefix.parts:
        return f"uv tool install --reinstall --with '{ANKI}' <where you installed deckgen from>"
    return f"{sys.executable} -m pip install '{ANKI}'"


@main.command()
@NOTES_DIR
@_format(
    "github", "How to print the problems: for people, as GitHub Actions annotations, or as JSON."
)
def check(notes_dir: Path, output: str) -> None:
    """Check NOTES_DIR (default: notes) without writing anything.

    Prints each problem as path:line:col: level: message [code] and exits 1
    if any is an error. With --format github, each is a workflow annotation
    (::error file=...,line=...,col=...::message), shown on the changed lines of a pull
    request; with --format json, a list of objects (file, line, column, severity,
    code, message, count) on stdout, for other tools.

    \b
    Example:
      deckgen check notes
      deckgen check --format github
    """
    from deckgen.load import load

    loaded = load(notes_dir)
    if output == "json":
        click.echo(json.dumps([problem.to_json() for problem in loaded.problems], indent=2))
    elif output == "github":
        for problem in loaded.problems:
            click.echo(problem.github())
    deck = _report(
        loaded.deck, loaded.problems if output == "text" else [], notes_dir, loaded.problems
    )
    if output != "json":
        click.echo(f"{notes_dir}: {deck.size} notes, no errors")


@main.command(name="schema")
@NOTES_DIR
def schema_command(notes_dir: Path) -> None:
    """Write the JSON Schemas with which an editor checks and completes the notes.

    Writes NOTES_DIR/deck.schema.json and NOTES_DIR/notes.schema.json, made from
    deck.yaml (its tags and note types) by the rules `deckgen check` applies; once they
    are there, `deckgen build` keeps them up to date. An editor with a YAML extension
    (VS Code's, or any yaml-language-server client) finds a file's schema in its first
    line, which `deckgen init` writes:

    \b
      # yaml-language-server: $schema=notes.schema.json
    (deck.yaml names deck.schema.json; a file in a domain's folder, ../notes.schema.json)

    \b
    Example:
      deckgen schema notes
    """
    from deckgen import schema
    from deckgen.files import read_text
    from deckgen.validate import check_header

    header, problems = check_header(notes_dir / "deck.yaml")
    header = _report(header, problems, notes_dir)
    try:
        written = schema.write(notes_dir, header)
    except OSError as error:
        raise click.ClickException(
            f"cannot write {error.filename or notes_dir}: {error.strerror or error}"
        ) from error
    if written:
        click.echo(f"Wrote {', '.join(str(path) for path in written)}")
    else:
        click.echo(f"{notes_dir}: the schemas are up to date")
    text, _ = read_text(notes_dir / "deck.yaml", "deck.yaml")
    if text is not None and not schema.names_schema(text):
        click.echo(
            "For an editor to use them, each YAML file names its schema in its first line:"
            f" '{schema.modeline(notes_dir, notes_dir / 'deck.yaml').strip()}' in deck.yaml,"
            f" '{schema.modeline(notes_dir, notes_dir / 'notes.yaml').strip()}' in the others"
            " ('../notes.schema.json' in a domain's folder)"
        )


@main.command(name="stats")
@NOTES_DIR
def stats_command(notes_dir: Path) -> None:
    """Show notes by domain and kind, and the cards they make.

    \b
    Example:
      deckgen stats notes
    """
    from deckgen import stats

    click.echo(stats.table(_load(notes_dir)))
