"""Pure rules: coaching, parsing, cue words, summaries, crisis matching. They know neither
Telegram nor SQL (import-linter checks it), so they are tested as plain functions."""
