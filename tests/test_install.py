"""deckgen installed from its wheel (and from a wheel made of its sdist), outside this
checkout, builds this repository's notes byte for byte as the editable install does:
its templates, CSS and the preview's assets ship in both. Built offline, by the build
backend itself; installed with pip, without its dependencies (those of this environment
serve), into a folder of its own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

from deckgen import __version__

BACKEND = "from setuptools import build_meta as b; import sys; print(b.{}(sys.argv[1]))"


def _backend(hook: str, source: Path, out: Path) -> Path:
    """Run a PEP 517 hook of the build backend in `source`; the file it made."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", BACKEND.format(hook), str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def _run_installed(target: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`deckgen ARGS` from the installed copy in `target`, run from `cwd`."""
    code = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); import deckgen;"
        " assert deckgen.__file__.startswith(sys.path[0]), deckgen.__file__;"
        " from deckgen.cli import run; sys.argv[0] = 'deckgen'; run()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(target), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _tracked_files(copy: Path) -> Path:
    """The checkout as git has it (no build/, no caches): a copy of its tracked files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel built from the checkout, and the one built from its sdist."""
    work = tmp_path_factory.mktemp("dist")
    checkout = _tracked_files(work / "checkout")  # the backend writes build/ beside them
    wheel = _backend("build_wheel", checkout, work / "from-checkout")
    sdist = _backend("build_sdist", checkout, work / "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    [source] = (work / "unpacked").iterdir()
    from_sdist = _backend("build_wheel", source, work / "from-sdist")
    return {"checkout": wheel, "sdist": from_sdist}


@pytest.mark.parametrize("made_from", ["checkout", "sdist"])
def test_an_installed_deckgen_builds_the_notes_as_the_checkout_does(
    wheels: dict[str, Path], made_from: str, tmp_path: Path
) -> None:
    wheel = wheels[made_from]
    # The distribution's own name (`deckgen` on PyPI is another project); the command and
    # the package keep deckgen's.
    assert wheel.name == f"deckgen_anki-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
        info = f"deckgen_anki-{__version__}.dist-info"
        assert "Name: deckgen-anki\n" in archive.read(f"{info}/METADATA").decode()
        assert "deckgen = deckgen.cli:run" in archive.read(f"{info}/entry_points.txt").decode()
    templates = {
        f"deckgen/{p.relative_to(REPO / 'src' / 'deckgen').as_posix()}"
        for p in (REPO / "src" / "deckgen" / "templates").rglob("*")
        if p.is_file()
    }
    assert templates <= shipped and "deckgen/py.typed" in shipped

    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    done = subprocess.run([*pip, "--target", str(target), str(wheel)], capture_output=True)
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    version = _run_installed(target, "--version", cwd=elsewhere)
    assert version.stdout == f"deckgen, version {__version__}\n", version.stderr
    installed, editable = tmp_path / "installed", tmp_path / "editable"
    for folder in (installed, editable):
        shutil.copytree(REPO / "notes", folder / "notes")
    built = _run_installed(target, "build", str(installed / "notes"), "-o", "a.apkg", cwd=installed)
    assert built.returncode == 0, built.stderr
    here = subprocess.run(
        [sys.executable, "-m", "deckgen", "build", "notes", "-o", "a.apkg"],
        cwd=editable,
        capture_output=True,
        text=True,
        check=False,
    )
    assert here.returncode == 0, here.stderr
    assert (installed / "a.apkg").read_bytes() == (editable / "a.apkg").read_bytes()
    # The preview's page and assets come from the installed copy too.
    preview = _run_installed(target, "preview", "notes", "-o", "site", cwd=installed)
    assert preview.returncode == 0, preview.stderr
    assert (installed / "site" / "assets" / "preview.js").read_text() == (
        REPO / "src" / "deckgen" / "templates" / "preview" / "preview.js"
    ).read_text()


def test_the_tests_run_on_python_deckgen_supports_and_lint_and_types_hold_to_the_oldest() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    oldest = project["project"]["requires-python"].removeprefix(">=")
    major, minor = map(int, oldest.split("."))
    assert sys.version_info[:2] >= (major, minor)
    assert project["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    assert project["tool"]["mypy"]["python_version"] == oldest


def test_no_install_advice_names_the_other_projects_deckgen() -> None:
    """`pip install deckgen` gets an unrelated project from PyPI: no text advises it."""
    from click.testing import CliRunner

    from deckgen.cli import main

    texts = [(REPO / "README.md").read_text(encoding="utf-8")]
    for command in main.commands:
        texts.append(CliRunner().invoke(main, [command, "--help"]).output)
    wrong = re.compile(r"\b(?:pipx?|uv tool|uv pip) install\s+['\"]?deckgen(?:\[|['\"\s]|$)", re.M)
    for text in texts:
        assert not wrong.search(text), wrong.search(text)
