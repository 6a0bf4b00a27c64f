"""User-facing text, one module per language (`en` is the only one so far)."""
