"""`between sandbox`: the real command in a subprocess, and its chat page driven in a real
headless Chromium (Debian's chromium and chromium-driver, Selenium from PyPI).

One sandbox process serves the browser tests, which run in order like one visitor trying it:
onboarding, a practice, time travel to its nudge, a voice note, a clinician's summary, the
switch between people. Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.texts import t

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
AUDIO = ROOT / "tests" / "fixtures" / "audio"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
OPEN_LINE = re.compile(r"Open http://127\.0\.0\.1:(\d+)")

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None

NO_BROWSER = (
    "no headless browser: install Debian's chromium and chromium-driver "
    "(apt-get install -y chromium chromium-driver) and selenium (pip install -e '.[test]')"
)
needs_browser = pytest.mark.skipif(
    webdriver is None or not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason=NO_BROWSER,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Running:
    """A `between sandbox` subprocess and the port its page is on."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE"))}
        env.update(BETWEEN_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "sandbox", "--port", str(port)],
            cwd=data_dir.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.port = port
        self.first_line = self._wait_for_open()

    def _wait_for_open(self, timeout: float = 120) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise AssertionError(f"between sandbox exited with {self.process.returncode}")
            if OPEN_LINE.search(line):
                return line.strip()
        raise AssertionError("between sandbox printed no Open line")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        with urllib.request.urlopen(self.url + path.lstrip("/"), data, timeout=10) as answer:
            return json.loads(answer.read())

    def interrupt(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets process `pid` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address = fields[1].split(":")[0]
                if table == "tcp":
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    found.add(address)
    return found


def test_sandbox_prints_open_listens_on_loopback_stops_on_sigint_and_keeps_data(
    tmp_path: Path,
) -> None:
    port = free_port()
    sandbox = Running(tmp_path / "data", port)
    try:
        assert sandbox.first_line == f"Open http://127.0.0.1:{port}"
        assert listening_addresses(sandbox.process.pid) == {"127.0.0.1"}
        sandbox.api("sandbox/api/send?user=1001", {"text": "/start"})
        deadline = time.monotonic() + 20
        while len(sandbox.api("sandbox/api/chat?user=1001")["messages"]) < 2:
            assert time.monotonic() < deadline, "the bot did not answer /start"
            time.sleep(0.2)
        assert sandbox.interrupt() == 0
    finally:
        sandbox.kill()

    again = Running(tmp_path / "data", port)
    try:
        messages = again.api("sandbox/api/chat?user=1001")["messages"]
        assert messages[0]["text"] == "/start"  # the chat is still there
        assert again.interrupt() == 0
    finally:
        again.kill()


# ---------------------------------------------------------------------- the page in a browser


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    sandbox = Running(tmp_path_factory.mktemp("sandbox") / "data", free_port())
    yield sandbox
    sandbox.kill()


@pytest.fixture(scope="module")
def browser(running: Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=390,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.get(running.url)
    WebDriverWait(driver, 60).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


class Page:
    """What a visitor does on the chat page."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver

    def wait(self, condition: Callable[[WebDriver], Any], timeout: float = 20) -> Any:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out; the bot said: {self.bot_texts()[-5:]}") from None

    def messages(self, who: str = "bot") -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, f"#messages .message.{who}")

    def bot_texts(self) -> list[str]:
        return [
            m.find_element(By.CSS_SELECTOR, ".text").text
            for m in self.messages()
            if m.find_elements(By.CSS_SELECTOR, ".text")
        ]

    def said(self, predicate: Callable[[str], bool], after: int = 0) -> str:
        """Wait for a bot message (among those after the first `after`) matching."""
        return str(
            self.wait(
                lambda d: next((x for x in self.bot_texts()[after:] if predicate(x)), False),
                timeout=60,
            )
        )

    def count(self) -> int:
        return len(self.messages())

    def type(self, text: str) -> int:
        """Type and send with Enter; return how many bot messages there were before."""
        before = self.count()
        box = self.driver.find_element(By.ID, "text")
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
        self.wait(lambda d: any(text in m.text for m in self.messages("me")[-3:]))
        return before

    def ask(self, text: str, expected: str) -> str:
        before = self.type(text)
        return self.said(lambda x: expected in x, before)

    def button(self, label: str) -> WebElement:
        """The newest inline button with this label."""

        def find(d: WebDriver) -> WebElement | bool:
            for message in reversed(self.messages()):
                for b in message.find_elements(By.CSS_SELECTOR, ".keyboard button"):
                    if b.text.strip() == label:
                        return b
            return False

        return self.wait(find)

    def press(self, label: str, expected: str, *, keyboard: bool = False) -> str:
        before = self.count()
        button = self.button(label)
        if keyboard:  # keyboard only: focus it and press Enter
            self.driver.execute_script("arguments[0].focus()", button)
            button.send_keys(Keys.ENTER)
        else:
            button.click()
        return self.said(lambda x: expected in x, before - 1)

    def be(self, persona: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, f'#people [data-persona="{persona}"]').click()
        self.wait(
            lambda d: (
                d.find_element(
                    By.CSS_SELECTOR, f'#people [data-persona="{persona}"]'
                ).get_attribute("aria-pressed")
                == "true"
            )
        )
        time.sleep(1.0)  # the chat loads

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(ARTIFACTS / f"sandbox-{name}.png"))


@pytest.fixture
def page(browser: WebDriver) -> Page:
    return Page(browser)


@needs_browser
def test_a_client_is_onboarded_in_the_page_with_the_keyboard_only(page: Page) -> None:
    page.type("/start")
    page.button(t.CONSENT_YES)
    page.press(t.CONSENT_YES, t.ASK_TIMEZONE, keyboard=True)
    page.ask("London", "Is that right?")
    page.press(t.TIMEZONE_RIGHT, "/new", keyboard=True)
    live = page.driver.find_element(By.ID, "messages")
    assert live.get_attribute("aria-live") == "polite"
    assert live.get_attribute("role") == "log"
    page.shot("onboarding")


@needs_browser
def test_a_practice_is_designed_with_buttons_and_typed_answers(page: Page) -> None:
    page.driver.find_element(By.ID, "menu-button").click()
    menu = page.wait(lambda d: d.find_element(By.ID, "menu").is_displayed())
    assert menu
    before = page.count()
    page.driver.find_element(
        By.XPATH, "//ul[@id='menu-list']//button[contains(., '/new')]"
    ).click()
    page.said(lambda x: x == t.ASK_GOAL, before)
    page.ask("speaking up", t.ASK_STEP)
    page.ask("say one clear sentence out loud", t.ASK_CONFIDENCE)
    page.press("9", t.ASK_ANCHOR)
    page.ask("after lunch", t.ASK_DAYS)
    page.press("Every day", t.ASK_TIME)
    page.ask("12:00", t.ASK_IF_THEN)
    page.press("Skip", t.ASK_REWARD)
    page.press("Skip", t.CONFIRM_INTRO)
    page.press("Looks right", "Saved. I'll nudge you")
    page.shot("practice")


@needs_browser
def test_jump_to_the_next_nudge_then_report_from_its_buttons(page: Page) -> None:
    before = page.count()
    clock = page.driver.find_element(By.ID, "clock").text
    page.driver.find_element(By.ID, "jump-nudge").click()
    page.said(lambda x: "say one clear sentence out loud" in x, before)
    page.wait(lambda d: d.find_element(By.ID, "clock").text != clock)
    page.press(t.DID_IT, t.ACK_DID)
    page.said(lambda x: x == t.ASK_REFLECTION)
    page.ask("I had my notes ready", t.REFLECTION_SAVED)
    page.shot("nudge")


@needs_browser
def test_a_voice_note_uploaded_from_a_file_is_transcribed(page: Page) -> None:
    before = page.count()
    page.driver.find_element(By.ID, "upload").send_keys(str(AUDIO / "sister.ogg"))
    heard = page.said(lambda x: x.startswith("Here's what I heard"), before)
    assert "sister" in heard.lower()
    mine = page.messages("me")[-1]
    assert mine.find_elements(By.TAG_NAME, "audio")
    # Reply to the transcript, to correct it, as in Telegram.
    transcript = next(m for m in reversed(page.messages()) if "what I heard" in m.text)
    transcript.find_element(By.CSS_SELECTOR, ".meta button").click()
    assert page.driver.find_element(By.ID, "replying").is_displayed()
    page.type("My sister called me this morning.")
    quote = page.messages("me")[-1].find_elements(By.CSS_SELECTOR, ".quote")
    assert quote and "heard" in quote[0].text
    page.shot("voice")


@needs_browser
def test_a_clinician_links_a_client_and_reads_the_summary_with_its_chart(page: Page) -> None:
    page.be("clinician")
    code = page.driver.find_element(By.CSS_SELECTOR, "#note code").text
    assert code.startswith("/clinician ")
    page.type("/start")
    page.button(t.CONSENT_YES)
    page.ask(code, t.CLINICIAN_WELCOME[:30])
    invite = page.ask("/invite", "code to your client: ")
    link_code = invite.split("code to your client: ")[1].split("\n")[0].strip()

    page.be("client")
    page.ask(f"/link {link_code}", "would see")
    page.press("Yes, share", "can now see your summary")
    page.type("/done")
    page.press(t.DID_IT, t.ACK_DID)

    page.be("clinician")
    overview = page.ask("/summary", t.SUMMARY_HEADER)
    assert "1. Alex: tried 1" in overview  # made on the travelled-to day
    before = page.count()
    page.type("/summary 1")
    chart = page.wait(
        lambda d: next(
            (m for m in self_photos(page, before)),
            False,
        ),
        timeout=60,
    )
    assert page.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", chart
    )
    assert chart.get_attribute("alt")
    page.shot("summary")

    before = page.count()
    page.type("/export 1")
    link = page.wait(
        lambda d: next(
            (
                a
                for m in page.messages()[before:]
                for a in m.find_elements(By.CSS_SELECTOR, "a.file")
            ),
            False,
        ),
        timeout=30,
    )
    assert link.get_attribute("download")
    status = page.driver.execute_script(
        "return fetch(arguments[0])"
        ".then(r => r.status + ' ' + r.headers.get('content-disposition'))",
        link.get_attribute("href"),
    )
    assert status.startswith("200 attachment")


def self_photos(page: Page, after: int) -> list[WebElement]:
    return [
        img for m in page.messages()[after:] for img in m.find_elements(By.CSS_SELECTOR, "img")
    ]


@needs_browser
def test_the_switch_changes_who_is_chatting_each_in_their_own_chat(page: Page) -> None:
    page.be("client2")
    assert (
        page.driver.find_element(By.CSS_SELECTOR, '#people [data-persona="client"]').get_attribute(
            "aria-pressed"
        )
        == "false"
    )
    assert page.messages() == [] and page.messages("me") == []
    page.type("/start")
    page.button(t.CONSENT_YES)
    page.be("client")
    assert any("what I heard" in text for text in page.bot_texts())
    assert not any(m.text.strip().startswith("/start") for m in page.messages("me")[1:])
    # Readable at 360 px: nothing runs off the side.
    page.driver.set_window_size(360, 800)
    time.sleep(0.3)
    width = page.driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 360
    page.shot("360px")
    page.driver.set_window_size(390, 900)
