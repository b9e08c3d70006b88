"""deckgen: study notes kept as YAML, built into an Anki package with stable note identities."""

__version__ = "0.1.0"
