"""Self-tests of the loopback Telegram fake, driven by a real python-telegram-bot Bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from sandbox.botapi import BotApiStandIn

pytestmark = pytest.mark.asyncio

USER = 4242


@pytest.fixture
def tg() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as fake:
        yield fake


@pytest.fixture
async def bot(tg: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.api_url, base_file_url=tg.file_url) as bot:
        yield bot


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "between_test_bot", True)


async def test_updates_are_delivered_and_confirmed_by_offset(tg: BotApiStandIn, bot: Bot) -> None:
    pushed = tg.send_text(USER, "/start@between_test_bot hello")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [pushed["update_id"]]
    assert updates[0].message.text.startswith("/start")
    assert updates[0].message.entities[0].type == "bot_command"
    assert tg.served_count == {pushed["update_id"]: 1}
    assert await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == ()
    assert tg.confirmed_offset == pushed["update_id"] + 1
    assert tg.pending_updates() == []


async def test_long_poll_wakes_up_when_an_update_arrives(tg: BotApiStandIn, bot: Bot) -> None:
    asyncio.get_running_loop().call_later(0.1, tg.send_text, USER, "hi")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert [u.message.text for u in updates] == ["hi"]
    assert time.monotonic() - started < 2


async def test_send_validation_like_telegram(tg: BotApiStandIn, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(USER, "hello")
    tg.send_text(USER, "/start")
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "pick", reply_markup=keyboard(("A", "d" * 65)))
    with pytest.raises(BadRequest, match="unsupported start tag"):
        await bot.send_message(USER, "1 < 2", parse_mode=ParseMode.HTML)
    sent = await bot.send_message(USER, "<b>ok</b>", parse_mode=ParseMode.HTML)
    assert tg.texts(USER) == ["x" * 4096, "<b>ok</b>"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>ok</b>", USER, sent.message_id)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # retry_after type
async def test_injected_faults_and_blocking(tg: BotApiStandIn, bot: Bot) -> None:
    tg.send_text(USER, "/start")
    tg.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "hello")
    tg.block(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "hello")
    tg.unblock(USER)
    await bot.send_message(USER, "hello")
    assert tg.texts(USER) == ["hello"]
    assert len(tg.send_times(USER)) == 1
    assert [m for m, _ in tg.calls].count("sendMessage") == 3


async def test_voice_file_downloads_byte_identical(tg: BotApiStandIn, bot: Bot) -> None:
    audio = bytes(range(256)) * 40
    update = tg.send_voice(USER, audio, duration=3)
    voice = update["message"]["voice"]
    assert voice["file_size"] == len(audio)
    downloaded = await (await bot.get_file(voice["file_id"])).download_as_bytearray()
    assert bytes(downloaded) == audio
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_document_upload_is_kept(tg: BotApiStandIn, bot: Bot) -> None:
    tg.send_text(USER, "/export")
    await bot.send_document(USER, b"a,b\n1,2\n", filename="notes.csv", caption="Export")
    message = tg.last(USER)
    assert message["_uploaded"] == b"a,b\n1,2\n"
    assert message["document"]["file_name"] == "notes.csv"
    assert tg.texts(USER) == ["Export"]


async def test_press_button_sends_callback_on_that_message(tg: BotApiStandIn, bot: Bot) -> None:
    tg.send_text(USER, "/start")
    sent = await bot.send_message(
        USER, "How was it?", reply_markup=keyboard(("Good", "mood:good"), ("Rough", "mood:rough"))
    )
    update = tg.press_button(USER, "rough")
    (received,) = await bot.get_updates(offset=update["update_id"], timeout=0)
    query = received.callback_query
    assert query.data == "mood:rough"
    assert query.message.message_id == sent.message_id
    assert query.message.text == "How was it?"
    assert await query.answer("noted")
    assert tg.answered_callbacks[0]["text"] == "noted"
    with pytest.raises(AssertionError, match="Good"):
        tg.press_button(USER, "Great")


async def test_real_application_round_trip(tg: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("Hi!", reply_markup=keyboard(("Go", "go")))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Gone")

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.api_url)
        .base_file_url(tg.file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        tg.send_text(USER, "/start")
        await tg.wait_for(USER, 1)
        tg.press_button(USER, "go")
        await tg.wait_until(lambda: tg.texts(USER) == ["Gone"], what="edit to 'Gone'")
        assert "reply_markup" not in tg.last(USER)
        await app.updater.stop()
        await app.stop()
    assert tg.pending_updates() == []
