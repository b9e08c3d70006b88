"""Run deckgen as `python -m deckgen`."""

from deckgen.cli import run

run()
