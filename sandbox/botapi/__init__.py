"""A loopback stand-in for the Telegram Bot API server.

``BotApiStandIn`` is the server plus the "client side" a test (or the sandbox's chat page)
drives: users typing, pressing buttons and sending voice notes.
"""

from sandbox.botapi.state import ApiError, BotApiStandIn, Upload

__all__ = ["ApiError", "BotApiStandIn", "Upload"]
