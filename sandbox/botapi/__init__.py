"""A loopback stand-in for the Telegram Bot API server.

The real python-telegram-bot ``Application``/``Bot`` talks HTTP to it (configure it with
``base_url=stand_in.api_url`` and ``base_file_url=stand_in.file_url``), so the tests, and
``between sandbox``, exercise the actual request encoding, error mapping and polling loop
instead of mocks. It follows Telegram's observable behaviour where bots commonly get it wrong:
length limits, callback data limits, HTML entity parsing, "message is not modified", blocked
users, offsets that confirm updates, long polling and rate-limit errors.

- ``server``: the HTTP front (http.server, routing, the serving thread);
- ``state``: chats, users, messages, the updates queue, files, faults; the users' side;
- ``methods``: the Bot API methods, with Telegram's limits and error answers.

Standard library only.
"""

from sandbox.botapi.server import BotApiStandIn
from sandbox.botapi.state import ApiError, Upload

__all__ = ["ApiError", "BotApiStandIn", "Upload"]
