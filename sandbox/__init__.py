"""Try Between without Telegram: a local stand-in for the Bot API (and, later, a chat page).

Standard library only, so it ships with the bot and the tests drive the real
python-telegram-bot ``Application`` against it.
"""

from sandbox.botapi import BotApiStandIn

__all__ = ["BotApiStandIn"]
