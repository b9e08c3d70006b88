"""deckgen against genanki alone, on synthetic decks of 1,000, 20,000 and 100,000 notes.

    python benchmarks/bench.py [--runs 5] [--sizes 1000,20000,100000]

Every measurement is a fresh process, timed from outside, with the runs of deckgen and
of the baseline alternated so that both see the same machine. Medians are printed, with
each ratio to the baseline and the peak memory (largest resident set of the process or
any worker it started); and for the cold build, each round's ratio to the baseline's run
just before it. The yardstick is genanki writing the same notes from ready-made
Python objects (benchmarks/baseline.py). deckgen's modules are compiled to bytecode first,
as pip does for every package it installs (genanki's included): an editable install run
with PYTHONDONTWRITEBYTECODE set would otherwise compile them again in every run.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import generate  # beside this script, so on its path

HERE = Path(__file__).resolve().parent

PYTHON = sys.executable
DECKGEN = [PYTHON, "-m", "deckgen"]
# deckgen as if on one core: its files read in its own process, to tell what the
# processes that read a large deck on every core buy.
ONE_CORE = [PYTHON, "-c", "import os; os.cpu_count = lambda: 1; from deckgen.cli import run; run()"]
PEAK = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:],"
    " stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True);"
    " sys.exit(done.stderr) if done.returncode else"
    " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def measure(command: list[str]) -> tuple[float, int]:
    """Wall time of a command in a fresh process, and the peak memory (KiB) of it and of
    every process it started."""
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-c", PEAK, *command], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - start, int(done.stdout.strip())


def baseline_input(notes: Path, out: Path) -> Path:
    """The notes as genanki needs them, made once by deckgen: the note types, and each
    note's kind, fields, tags and GUID."""
    from deckgen.declared import resolve
    from deckgen.load import load

    loaded = load(notes, cache=False)
    assert loaded.deck is not None, [str(p) for p in loaded.problems]
    note_types = {
        kind: (
            t.model_id,
            t.name,
            list(t.field_names),
            [(name, front, back) for _, name, front, back in t.faces],
            t.css,
            t.is_cloze,
        )
        for kind, t in resolve(loaded.deck.note_types, None).items()
    }
    rows = [(r.kind, r.values, list(r.tags), r.guid) for r in loaded.deck.records()]
    with open(out, "wb") as file:
        pickle.dump((note_types, rows), file)
    return out


def touch_one_file(notes: Path, round_: int) -> None:
    """A real edit to one of the 20 files: a word of a note's text, another each round."""
    path = notes / "d07.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(" model ", f" model{round_} ", 1), encoding="utf-8")


def row(name: str, times: list[float], peaks: list[int], base: float | None) -> str:
    median = statistics.median(times)
    ratio = f"{median / base:5.2f}x" if base else "     "
    return f"  {name:<36} {median:7.3f} s  {ratio}  {max(peaks) / 1024:6.0f} MiB"


def bench(size: int, runs: int, work: Path) -> list[str]:
    notes = generate(size, work / f"deck{size}" / "notes")
    warned = generate(size, work / f"warned{size}" / "notes", warnings=True)
    # The same notes, a file each (up to 20,000 files: the time must grow as the notes do).
    spread = generate(size, work / f"spread{size}" / "notes", file_per_note=True)
    caches = [folder.parent / ".deckgen_cache" for folder in (notes, warned, spread)]
    cache, warned_cache, spread_cache = caches
    out = work / f"out{size}.apkg"
    pickled = baseline_input(notes, work / f"base{size}.pickle")
    subprocess.run([*DECKGEN, "build", str(notes), "-o", str(out)], check=True, capture_output=True)
    source, brought = work / f"source{size}.apkg", work / f"brought{size}"
    shutil.copyfile(out, source)
    # The same notes, every fourth showing a picture of its own (5,000 for 20,000 notes):
    # its cold build, and the deck brought back from its package.
    pictured = work / f"pictured{size}" / "notes"
    pictured_source = work / f"pictured{size}.apkg"
    pictured_brought = work / f"pictured-brought{size}"
    if size <= 20_000:
        generate(size, pictured, pictures=True)
        build = [*DECKGEN, "build", str(pictured), "-o", str(pictured_source)]
        subprocess.run(build, check=True, capture_output=True)
    results: dict[str, tuple[list[float], list[int]]] = {}

    def record(name: str, command: list[str], before: object = None) -> None:
        if callable(before):
            before()
        seconds, peak = measure(command)
        times, peaks = results.setdefault(name, ([], []))
        times.append(seconds)
        peaks.append(peak)

    def no_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def no_warned_cache() -> None:
        shutil.rmtree(warned_cache, ignore_errors=True)

    for round_ in range(runs):
        record("genanki alone", [PYTHON, str(HERE / "baseline.py"), str(pickled), str(out)])
        record(
            "deckgen build, cold (no cache)",
            [*DECKGEN, "build", str(notes), "-o", str(out)],
            no_cache,
        )
        record(
            "deckgen build, cold, one process",
            [*ONE_CORE, "build", str(notes), "-o", str(out)],
            no_cache,
        )
        record(
            "deckgen build, cold, with warnings",
            [*DECKGEN, "build", str(warned), "-o", str(out)],
            no_warned_cache,
        )
        record(
            "deckgen build, one file edited",
            [*DECKGEN, "build", str(notes), "-o", str(out)],
            lambda round_=round_: touch_one_file(notes, round_),
        )
        if size <= 20_000:
            record(
                "deckgen build, cold, a file per note",
                [*DECKGEN, "build", str(spread), "-o", str(out)],
                lambda: shutil.rmtree(spread_cache, ignore_errors=True),
            )
        record("deckgen check, cold (no cache)", [*DECKGEN, "check", str(notes)], no_cache)
        record("deckgen check, warm", [*DECKGEN, "check", str(notes)])
        if size <= 20_000:
            # The deck brought back from its own package (a package Anki reads and
            # writes alike): init --from, timed against the cold build above.
            record(
                "deckgen init --from its package",
                [*DECKGEN, "init", str(brought), "--from", str(source)],
                lambda: shutil.rmtree(brought, ignore_errors=True),
            )
            record(
                f"deckgen build, cold, {size // 4:,} pictures",
                [*DECKGEN, "build", str(pictured), "-o", str(out)],
                lambda: shutil.rmtree(pictured.parent / ".deckgen_cache", ignore_errors=True),
            )
            record(
                f"deckgen init --from it, {size // 4:,} pictures",
                [*DECKGEN, "init", str(pictured_brought), "--from", str(pictured_source)],
                lambda: shutil.rmtree(pictured_brought, ignore_errors=True),
            )
    base = statistics.median(results["genanki alone"][0])
    megabytes = sum(p.stat().st_size for p in notes.glob("*.yaml")) / 1e6
    lines = [f"{size:,} notes ({megabytes:.1f} MB of YAML):"]
    lines += [
        row(name, t, p, None if name == "genanki alone" else base)
        for name, (t, p) in results.items()
    ]
    cold = statistics.median(results["deckgen build, cold (no cache)"][0])
    # Each round's cold build against that round's genanki, run just before it: a busy
    # spell of the machine that outlasts a round, or hits both cores, moves the medians
    # above more than it moves a pair's ratio.
    pairs = [
        build / alone
        for alone, build in zip(
            results["genanki alone"][0], results["deckgen build, cold (no cache)"][0], strict=True
        )
    ]
    lines.append(
        f"  cold build / genanki alone, round by round: median {statistics.median(pairs):.2f}x,"
        f" {min(pairs):.2f}x to {max(pairs):.2f}x"
    )
    warned_cold = statistics.median(results["deckgen build, cold, with warnings"][0])
    lines.append(f"  with warnings / without: {warned_cold / cold:.2f}x")
    lines.append(f"  cold build per 1,000 notes: {cold / size * 1000:.3f} s")
    if "deckgen init --from its package" in results:
        brought = statistics.median(results["deckgen init --from its package"][0])
        lines.append(f"  init --from / cold build: {brought / cold:.2f}x (the goal: 2x at most)")
        pictures = f"{size // 4:,} pictures"
        pictured_cold = statistics.median(results[f"deckgen build, cold, {pictures}"][0])
        pictured_in = statistics.median(results[f"deckgen init --from it, {pictures}"][0])
        lines.append(
            f"  with {pictures}, init --from / cold build: {pictured_in / pictured_cold:.2f}x"
            " (the goal: 2x at most)"
        )
    if size == 20_000:
        goal = f"{size:,} notes (the goal: 0.5 s)"
        lines.append(watch_latency(notes, work / f"watched{size}" / "notes", runs, goal))
    if "deckgen build, cold, a file per note" in results:
        spread_cold = statistics.median(results["deckgen build, cold, a file per note"][0])
        lines.append(f"  a file per note, cold, per 1,000 notes: {spread_cold / size * 1000:.3f} s")
    return lines


def small(runs: int, work: Path, notes: Path) -> list[str]:
    copy = Path(shutil.copytree(notes, work / "small" / "notes"))
    out = work / "small.apkg"
    times: dict[str, tuple[list[float], list[int]]] = {
        "import genanki": ([], []),
        "deckgen build": ([], []),
    }
    for _ in range(runs):
        for name, command in (
            ("import genanki", [PYTHON, "-c", "import genanki"]),
            ("deckgen build", [*DECKGEN, "build", str(copy), "-o", str(out)]),
        ):
            seconds, peak = measure(command)
            times[name][0].append(seconds)
            times[name][1].append(peak)
    base = statistics.median(times["import genanki"][0])
    return [f"The real deck ({len(list(copy.glob('*.yaml')))} files):"] + [
        row(name, t, p, None if name == "import genanki" else base)
        for name, (t, p) in times.items()
    ]


def watch_latency(notes: Path, where: Path, runs: int, label: str) -> str:
    """preview --watch on a copy of the notes: from a saved edit of one note to the
    answer that carries its new card to the page (what the page then puts in place)."""
    import json
    import threading
    import urllib.request

    copy = Path(shutil.copytree(notes, where, ignore=shutil.ignore_patterns(".*")))
    copy_files = sorted(p for p in copy.glob("*.yaml") if p.name != "deck.yaml")
    process = subprocess.Popen(
        [*DECKGEN, "preview", "--watch", str(copy)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        start = time.perf_counter()
        address = ""
        while not address:
            line = process.stdout.readline()
            if not line:
                raise SystemExit(f"preview --watch {copy} ended")
            address = line.split()[1] if line.startswith("Serving ") else ""
        first = time.perf_counter() - start
        threading.Thread(target=process.stdout.read, daemon=True).start()  # (drained)
        with urllib.request.urlopen(f"{address}changes?since=1000000000") as response:
            version = json.loads(response.read())["version"]
        times = []
        for round_ in range(runs * 2):
            answer: dict[str, object] = {}

            def ask(since: int = version, into: dict[str, object] = answer) -> None:
                with urllib.request.urlopen(f"{address}changes?since={since}") as response:
                    into.update(json.loads(response.read()))
                    into["at"] = time.perf_counter()

            asking = threading.Thread(target=ask)
            asking.start()
            time.sleep(0.2)  # the question is waiting, as the page's is
            path = copy_files[round_ % len(copy_files)]
            text = path.read_text(encoding="utf-8")
            word = "fact:" if "fact:" in text else "trap:"
            saved = time.perf_counter()
            path.write_text(text.replace(word, f"{word} Edited", 1), encoding="utf-8")
            asking.join(30)
            notes_changed = answer.get("notes")
            if not isinstance(notes_changed, dict) or len(notes_changed) != 1:
                raise SystemExit(f"preview --watch answered {answer}")
            times.append(float(answer["at"]) - saved)  # type: ignore[arg-type]
            version = int(answer["version"])  # type: ignore[call-overload]
    finally:
        process.send_signal(2)
        process.wait(30)
    return (
        f"  preview --watch, {label}: a saved edit on the page in"
        f" {statistics.median(times) * 1000:.0f} ms (median of {len(times)};"
        f" slowest {max(times) * 1000:.0f} ms), the first page in {first:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1000,20000,100000")
    args = parser.parse_args()
    repo = HERE.parent
    print(
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.runs} runs each, medians:"
    )
    import compileall

    import deckgen

    compileall.compile_dir(Path(deckgen.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="deckgen-bench-") as scratch:
        work = Path(scratch)
        print("\n".join(small(args.runs, work, repo / "notes")))
        goal = "the repo's deck (the goal: 0.1 s)"
        print(watch_latency(repo / "notes", work / "watched" / "notes", args.runs, goal))
        for size in (int(s) for s in args.sizes.split(",")):
            print(
                "\n".join(bench(size, args.runs if size <= 20000 else max(1, args.runs // 2), work))
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
