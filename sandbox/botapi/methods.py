"""The Bot API methods the stand-in answers, with Telegram's limits and error answers.

getUpdates (long polling, offsets, allowed_updates, 409 on a second poller), sending and
editing messages and media (the 4096-character text limit, HTML entity parsing, 1-64 byte
callback_data, "message is not modified"), answerCallbackQuery (once per query), getFile,
the command menu and webhooks; and the faults a test injects (fail_next, drop_next, ...).
"""

from __future__ import annotations

import copy
import functools
import html
import json
import mimetypes
import re
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from sandbox.botapi.state import (
    ApiError,
    BotApiState,
    Upload,
    bad,
    public,
    to_int,
    utf16_len,
    words,
)

MAX_TEXT = 4096
DROPPED = 0  # a status meaning "close the connection without answering"
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile limit of the cloud Bot API
MAX_UPLOAD = 50 * 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Telegram's default when a bot never sent allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_HTML_TAGS = words(
    """
    a b strong i em u ins s strike del span tg-spoiler tg-emoji code pre blockquote
    """
)
_TAG_NAME_RE = re.compile(r"<(/?)([^\s>]*)")
_BUTTON_ACTIONS = words(
    """
    url callback_data web_app login_url switch_inline_query pay
    switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text callback_game
    """
)
_MEDIA_KINDS = ("document", "photo", "audio", "voice", "video")
_ALWAYS_TRUE = words(
    """
    close logout setmydescription setmyshortdescription setchatmenubutton
    setmydefaultadministratorrights
    """
)


def _visible_text(text: str, parse_mode: str | None) -> str:
    """Return the text a user would see, validating HTML markup the way Telegram does.

    Only HTML is parsed (an unescaped ``<`` in user-supplied text is a classic bug); other
    parse modes are counted raw.
    """
    if not parse_mode or parse_mode.lower() != "html":
        return text

    def error(problem: str) -> ApiError:
        return bad(f"can't parse entities: {problem}")

    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) != -1:
        out.append(text[pos:lt])
        at = f"at byte offset {len(text[:lt].encode())}"
        tag = _TAG_NAME_RE.match(text, lt)
        assert tag is not None  # the pattern matches any "<"
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        gt = text.find(">", tag.end())
        if closing:
            if gt == -1:
                raise error(f"Unclosed end tag {at}")
            if not stack:
                raise error(f"Unexpected end tag {at}")
            if name and name != stack[-1]:
                found = text[lt : gt + 1]
                raise error(f'Unmatched end tag {at}, expected "</{stack[-1]}>", found "{found}"')
            stack.pop()
        else:
            if tag.end() == len(text):
                raise error(f"Unclosed start tag {at}")
            if name not in _HTML_TAGS:
                raise error(f'Unsupported start tag "{name}" {at}')
            if gt == -1:
                raise error(f"Unclosed start tag {at}")
            stack.append(name)
        pos = gt + 1
    out.append(text[pos:])
    if stack:
        raise error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape("".join(out))


def _check_text(text: Any, parse_mode: Any) -> str:
    text = "" if text is None else str(text)
    visible = _visible_text(text, parse_mode)
    if not visible.strip():
        raise bad("message text is empty")
    if utf16_len(visible) > MAX_TEXT:
        raise bad("message is too long")
    return text


def _check_caption(caption: Any, parse_mode: Any) -> str | None:
    if caption in (None, ""):
        return None
    caption = str(caption)
    if utf16_len(_visible_text(caption, parse_mode)) > MAX_CAPTION:
        raise bad("message caption is too long")
    return caption


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; callback_data must be 1-64 bytes."""
    if markup in (None, ""):
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not _BUTTON_ACTIONS & button.keys():
            raise bad(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        if "callback_data" in button:
            data = str(button["callback_data"]).encode()
            if not 1 <= len(data) <= MAX_CALLBACK_DATA:
                raise bad("BUTTON_DATA_INVALID")
    return markup


def _apply_edit(
    message: dict[str, Any], key: str | None, value: str | None, markup: dict[str, Any] | None
) -> dict[str, Any]:
    """Edit in place; a missing reply_markup removes the keyboard, as Telegram does."""
    same_content = key is None or message.get(key) == value
    if same_content and message.get("reply_markup") == markup:
        raise ApiError(400, NOT_MODIFIED)
    if key is not None:
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup
    message["edit_date"] = int(time.time())
    return public(message)


class BotApiMethods(BotApiState):
    """The state, answering Bot API calls: ``_api_<snake_case>`` is the method ``<camelCase>``."""

    def __init__(
        self, token: str = "123456:TEST-token", bot_username: str = "between_test_bot"
    ) -> None:
        super().__init__(token, bot_username)
        # Bot API method names are case-insensitive: "sendMessage" -> self._api_send_message.
        self._api: dict[str, Callable[[dict[str, Any]], Any]] = {
            name.removeprefix("_api_").replace("_", ""): getattr(self, name)
            for name in dir(self)
            if name.startswith("_api_")
        }
        for kind in _MEDIA_KINDS:
            self._api[f"send{kind}"] = functools.partial(self._send_media, kind)
        for name in _ALWAYS_TRUE:
            self._api[name] = lambda params: True

    # ----------------------------------------------------------------- dispatch

    def _handle_api(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        delay = 0.0
        hold: threading.Event | None = None
        with self._cond:
            self.calls.append((method, params))
            try:
                if token != self.token:
                    raise ApiError(401, "Unauthorized")
                handler = self._api.get(method.lower())
                if handler is None:
                    raise ApiError(404, "Not Found")
                delays = self._delays.get(method.lower())
                delay = delays.pop(0) if delays else 0.0
                holds = self._holds.get(method.lower())
                hold = holds.pop(0) if holds else None
                if hold is None:
                    hold = self._chat_holds.get((method.lower(), str(params.get("chat_id"))))
                if self._drops.get(method.lower()):
                    self._drops[method.lower()] -= 1
                    return DROPPED, None
                faults = self._faults.get(method.lower())
                if faults:
                    raise faults.pop(0)
                status, payload = 200, {"ok": True, "result": handler(params)}
            except ApiError as err:
                status, payload = err.status, err.payload()
            except Exception as exc:  # a bug in the stand-in: make it loud, not a hang
                traceback.print_exc()
                status, payload = 500, ApiError(500, f"Internal Server Error: {exc!r}").payload()
        if delay:
            self._stopping.wait(delay)
        while hold is not None and not hold.wait(0.05) and not self._stopping.is_set():
            pass
        return status, payload

    # ----------------------------------------------------------------- helpers

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise bad("chat_id is empty")
        try:
            chat = self._chats.get(int(raw))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad("chat not found")
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _target_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        message = self._messages.get(chat["id"], {}).get(to_int(params.get("message_id")))
        if message is None or message.get("_deleted"):
            raise bad("message to edit not found")
        if not self._is_bot_message(message):
            raise bad("message can't be edited")
        return message

    def _new_bot_message(self, chat: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat["id"]
        message = {
            "message_id": self._allocate_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            **{k: v for k, v in fields.items() if v is not None},
        }
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        self._sent.setdefault(chat_id, []).append(message)
        self._send_times.setdefault(chat_id, []).append(time.monotonic())
        return public(message)

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id") or params.get("reply_to_message_id")
        if not target:
            return None
        found = self._messages.get(chat_id, {}).get(to_int(target))
        if found is None or found.get("_deleted"):
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise bad("message to be replied not found")
        return {k: v for k, v in public(found).items() if k != "reply_to_message"}

    # ----------------------------------------------------------------- API methods

    def _api_get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        limit = min(max(to_int(params.get("limit", 100)) or 100, 1), 100)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = set(allowed) if allowed else None
        if params.get("offset") not in (None, ""):
            self._confirm(to_int(params["offset"]))
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # an older long poll still waiting gets 409, as in Telegram
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            batch = [u for u in self._updates if self._wanted(u)][:limit]
            if batch or self._stopping.is_set():
                break
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make "
                    "sure that only one bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        served_at = time.monotonic()
        for update in batch:
            self._served[update["update_id"]] = self._served.get(update["update_id"], 0) + 1
            self._served_at.setdefault(update["update_id"], served_at)
        return copy.deepcopy(batch)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _confirm(self, offset: int) -> None:
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _api_delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._confirm(self._next_update_id)
        return True

    def _api_set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        return True

    def _api_send_chat_action(self, params: dict[str, Any]) -> bool:
        return bool(self._target_chat(params))

    def _api_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _api_set_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands[self._commands_key(params)] = list(params.get("commands") or [])
        return True

    def _api_get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _api_delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _api_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _check_text(params.get("text"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        chat = self._target_chat(params)
        reply_to = self._reply_to(chat["id"], params)
        return self._new_bot_message(
            chat, {"reply_to_message": reply_to, "text": text, "reply_markup": markup}
        )

    def _api_edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _check_text(params.get("text"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        message = self._target_message(params)
        if "text" not in message:
            raise bad("there is no text in the message to edit")
        return _apply_edit(message, "text", text, markup)

    def _api_edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = _check_caption(params.get("caption"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        message = self._target_message(params)
        if "text" in message:
            raise bad("there is no caption in the message to edit")
        return _apply_edit(message, "caption", caption, markup)

    def _api_edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = _check_markup(params.get("reply_markup"))
        message = self._target_message(params)
        return _apply_edit(message, None, None, markup)

    def _api_delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = to_int(params.get("chat_id"))
        message = self._messages.get(chat_id, {}).get(to_int(params.get("message_id")))
        if message is None or message.get("_deleted"):
            raise bad("message to delete not found")
        message["_deleted"] = True
        return True

    def _api_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_INVALID)
        self._open_callbacks.discard(query_id)  # a query can be answered only once
        self.answered_callbacks.append(params)
        return True

    def _send_media(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        caption = _check_caption(params.get("caption"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        chat = self._target_chat(params)
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if not value.data:
                raise bad("file must be non-empty")
            if len(value.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            ext = value.filename.rpartition(".")[2] if "." in value.filename else None
            stored = self._store_file(kind, value.data, ext)
            file_name, mime_type = value.filename, value.mime_type
        elif isinstance(value, str) and value in self._files:
            stored = self._files[value]
            file_name = stored.file_path.rpartition("/")[2]
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        else:
            raise bad("wrong file identifier/HTTP URL specified")
        base = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        media: Any
        if kind == "photo":
            media = [{**base, "width": 1280, "height": 720}]
        elif kind == "document":
            media = {**base, "file_name": file_name, "mime_type": mime_type}
        else:
            media = {**base, "duration": to_int(params.get("duration")), "mime_type": mime_type}
            if kind != "voice":
                media["file_name"] = file_name
            if kind == "video":
                media.update(
                    width=to_int(params.get("width")) or 1280,
                    height=to_int(params.get("height")) or 720,
                )
        result = self._new_bot_message(
            chat,
            {
                "reply_to_message": self._reply_to(chat["id"], params),
                kind: media,
                "caption": caption,
                "reply_markup": markup,
            },
        )
        self._sent[chat["id"]][-1]["_uploaded"] = stored.data
        return result

    def _api_get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
