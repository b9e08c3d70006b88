"""A study group's deck repository, offline: the pre-commit hook run by `pre-commit
try-repo`, and the workflow `deckgen init` writes, validated against GitHub's workflow
schema and its steps run in order in a fresh clone, releases and all (`gh` stands in).

Nothing is fetched: pip installs deckgen (its wheel, built here by the backend) and what
it needs from a folder of wheels made of this environment's own installed packages."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement
from test_install import _backend, _tracked_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

BIN = Path(sys.executable).parent


def _closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """These distributions and all they require here (with the extras asked for: anki
    asks for requests[socks]), as installed."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(name, frozenset[str]()) for name in names]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if (key, extras) in done:
            continue
        done.add((key, extras))
        found[key] = dist = metadata.distribution(name)
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def _wheel_of(dist: metadata.Distribution, out: Path) -> Path:
    """An installed distribution packed again as a wheel (its files, as RECORD lists them)."""
    wheel_file = dist.read_text("WHEEL") or ""
    tag = next(
        line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line.startswith("Tag:")
    )
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    path = out / f"{name}-{dist.version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as wheel:
        for file in dist.files or []:
            written = str(file)
            if written.startswith("..") or "__pycache__" in written:
                continue
            wheel.write(dist.locate_file(file), written)
    return path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A folder of wheels pip installs from, offline, and deckgen's own wheel in it."""
    out = tmp_path_factory.mktemp("wheels")
    needed = [r for r in metadata.requires("deckgen-anki") or [] if "extra" not in r]
    names = [re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in needed]  # type: ignore[union-attr]
    for dist in _closure([*names, "setuptools", "anki"]).values():
        _wheel_of(dist, out)
    source = _tracked_files(tmp_path_factory.mktemp("source") / "deckgen")
    deckgen = _backend("build_wheel", source, out)
    yield out, deckgen


def _offline(wheels: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    return {
        **env,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
        "GIT_AUTHOR_NAME": "Group",
        "GIT_AUTHOR_EMAIL": "group@example.org",
        "GIT_COMMITTER_NAME": "Group",
        "GIT_COMMITTER_EMAIL": "group@example.org",
        **more,
    }


def _run(
    args: list[str | Path], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _deck_repository(where: Path, env: dict[str, str]) -> Path:
    """A deck repository as a maintainer starts it: init, build, commit."""
    where.mkdir()
    for command in (
        ["git", "init", "-q", "-b", "main"],
        [BIN / "deckgen", "init", "--name", "Group Deck"],
        [BIN / "deckgen", "build"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "Start the deck"],
    ):
        done = _run(command, where, env)
        assert done.returncode == 0, done.stderr
    return where


def test_the_hook_passes_a_good_deck_and_fails_a_broken_one(
    tmp_path: Path, wheels: tuple[Path, Path]
) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("pre-commit try-repo needs this repository's git history")
    env = _offline(wheels[0], PRE_COMMIT_HOME=str(tmp_path / "pre-commit"))
    deck = _deck_repository(tmp_path / "deck", env)
    try_repo = [BIN / "pre-commit", "try-repo", REPO, "deckgen-check", "--all-files"]

    good = _run(try_repo, deck, env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"deckgen check\.+Passed", good.stdout)

    notes = deck / "notes" / "first-domain.yaml"
    notes.write_text(notes.read_text().replace("  trap: Re-reading", "  trapp: Re-reading"))
    bad = _run(try_repo, deck, env)
    assert bad.returncode == 1
    assert re.search(r"deckgen check\.+Failed", bad.stdout)
    assert (
        "notes/first-domain.yaml:16:3: error: unknown key 'trapp' (did you mean 'trap'?)"
        in bad.stdout
    )


FAKE_GH = '''\
"""gh, as the workflow uses it, over a folder of releases (one folder per tag)."""
import os, shutil, sys
from pathlib import Path

store = Path(os.environ["FAKE_RELEASES"])
args = sys.argv[1:]
if args[:2] == ["release", "download"]:
    tag, into = args[2], Path(args[args.index("--dir") + 1])
    if not (store / tag).is_dir():
        sys.exit(f"release not found: {tag}")
    for asset in (store / tag).glob("*.apkg"):
        shutil.copy(asset, into / asset.name)
elif args[:2] == ["release", "create"]:
    tag = args[2]
    (store / tag).mkdir(parents=True)
    files = [a for a in args[3:args.index("--title")]]
    for name in files:
        shutil.copy(name, store / tag / Path(name).name)
    shutil.copy(args[args.index("--notes-file") + 1], store / tag / "NOTES.md")
else:
    sys.exit(f"unexpected: gh {args}")
'''


def _expression(value: str, variables: dict[str, str]) -> str:
    """The workflow's expressions this test meets, evaluated as GitHub would."""

    def evaluate(match: re.Match[str]) -> str:
        inside = match.group(1).strip()
        if inside == "github.token":
            return "a-token"
        found = re.fullmatch(r"vars\.(\w+) \|\| '([^']*)'", inside)
        assert found, inside
        return variables.get(found.group(1)) or found.group(2)

    return re.sub(r"\$\{\{(.*?)\}\}", evaluate, value)


def _run_job(
    workflow: dict, job: str, clone: Path, env: dict[str, str], variables: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """A job's steps in order, as the runner runs them (bash -e), each in the clone;
    the actions (checkout, setup-python, upload) are what the test set up."""
    base = {**env}
    for name, value in {**workflow.get("env", {}), **workflow["jobs"][job].get("env", {})}.items():
        base[name] = _expression(str(value), variables)
    done = []
    for step in workflow["jobs"][job]["steps"]:
        if "uses" in step:
            continue
        step_env = {
            **base,
            **{k: _expression(str(v), variables) for k, v in step.get("env", {}).items()},
        }
        result = _run(["bash", "-e", "-c", step["run"]], clone, step_env)
        done.append(result)
        if result.returncode:
            break
    return done


def test_the_workflow_is_valid_and_its_steps_check_build_and_release(
    tmp_path: Path, wheels: tuple[Path, Path]
) -> None:
    folder, deckgen_wheel = wheels
    env = _offline(folder)
    origin = _deck_repository(tmp_path / "origin", env)
    workflow_file = origin / ".github" / "workflows" / "deck.yml"
    valid = _run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow_file],
        origin,
        env,
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    workflow = yaml.safe_load(workflow_file.read_text())
    assert "deckgen-anki==" in workflow["env"]["DECKGEN_INSTALL"]  # never `deckgen` on PyPI
    assert workflow[True] == {"push": {"branches": ["**"], "tags": ["v*"]}, "pull_request": None}

    # The runner: a fresh Python, `gh` standing in for GitHub's releases.
    runner = tmp_path / "runner"
    done = _run([sys.executable, "-m", "venv", runner], tmp_path, env)
    assert done.returncode == 0, done.stderr
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "gh").write_text(f"#!{sys.executable}\n{FAKE_GH}")
    (fake / "gh").chmod(0o755)
    releases = tmp_path / "releases"
    env = {
        **env,
        "PATH": f"{runner / 'bin'}{os.pathsep}{fake}{os.pathsep}{os.environ['PATH']}",
        "FAKE_RELEASES": str(releases),
    }
    variables = {"DECKGEN_INSTALL": str(deckgen_wheel)}  # the repository's variable

    # On every push: install, check (annotations), build twice, the lock committed.
    clone = tmp_path / "clone"
    assert _run(["git", "clone", "-q", origin, clone], tmp_path, env).returncode == 0
    steps = _run_job(workflow, "check", clone, env, variables)
    assert [s.returncode for s in steps] == [0, 0, 0, 0], [s.stderr for s in steps]
    assert "notes: 4 notes, no errors" in steps[1].stdout
    assert "(reproducible)" in steps[2].stdout
    assert "::warning" not in steps[3].stdout

    # A release, then a note edited, built, committed and released again.
    def release(tag: str) -> list[subprocess.CompletedProcess[str]]:
        assert _run(["git", "tag", tag], origin, env).returncode == 0
        where = tmp_path / f"clone-{tag}"
        assert _run(["git", "clone", "-q", origin, where], tmp_path, env).returncode == 0
        return _run_job(workflow, "release", where, {**env, "GITHUB_REF_NAME": tag}, variables)

    first = release("v1.0")
    assert [s.returncode for s in first] == [0, 0, 0, 0], [s.stderr for s in first]
    assert sorted(p.name for p in (releases / "v1.0").iterdir()) == [
        "NOTES.md",
        "group-deck.apkg",
        "preview.zip",
    ]
    assert (
        releases / "v1.0" / "NOTES.md"
    ).read_text() == "No earlier release's package to compare with.\n"

    notes = origin / "notes" / "first-domain.yaml"
    notes.write_text(notes.read_text().replace("the cards you miss", "the cards you keep missing"))
    for command in (
        [BIN / "deckgen", "build"],
        ["git", "commit", "-qam", "Clearer why_not"],
    ):
        assert _run(command, origin, env).returncode == 0
    second = release("v1.1")
    assert [s.returncode for s in second] == [0, 0, 0, 0], [s.stderr for s in second]
    release_notes = (releases / "v1.1" / "NOTES.md").read_text()
    assert "### Changed (1)\n\n- `ten-minutes-left`: Anki updates it in place\n" in release_notes
    assert "**keep missing**" in release_notes
    with zipfile.ZipFile(releases / "v1.1" / "preview.zip") as preview:
        assert "preview/index.html" in preview.namelist()

    # A broken note: the check step fails, with an annotation on its line.
    notes.write_text(notes.read_text().replace("  trap: Re-reading", "  trapp: Re-reading"))
    assert _run(["git", "commit", "-qam", "A typo"], origin, env).returncode == 0
    broken = tmp_path / "clone-broken"
    assert _run(["git", "clone", "-q", origin, broken], tmp_path, env).returncode == 0
    steps = _run_job(workflow, "check", broken, env, variables)
    assert [s.returncode for s in steps] == [0, 1]
    assert (
        "::error file=notes/first-domain.yaml,line=16,col=3,title=deckgen unknown-key::"
        "unknown key 'trapp' (did you mean 'trap'?)"
    ) in steps[1].stdout
