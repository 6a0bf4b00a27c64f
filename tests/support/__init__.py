"""Shared test helpers (as python-telegram-bot's tests/auxil/): test modules import from here,
never from one another; conftest.py holds only the fixtures built on them.

- ``harness``: the real bot against the Bot API stand-in, driven like a client would;
- ``databases``: an empty SQLite or PostgreSQL database for one test;
- ``practices``, ``clinicians``, ``nudges``, ``voice``: the steps many tests start from;
- ``processes``: ``between run`` as a real process, to kill it.
"""
