"""``dialog-gym serve`` in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``)
driven by Selenium. Skipped, saying why, where no browser is installed.

The server runs in this process (uvicorn on a thread, 127.0.0.1, a free port) so that the scripted
teacher can read the step the session waits on; it answers through the page only: key presses (Enter,
1-9, u) and clicks. ``DIALOG_GYM_WEB_DIALOGUES=N`` plays N dialogues with the scripted teacher instead
of one (the measurement of the README: success of the bot alone, latency of each answer), with the
report written to ``DIALOG_GYM_WEB_REPORT`` and the screenshot to ``DIALOG_GYM_SCREENSHOT`` if set.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
selenium = pytest.importorskip("selenium", reason="selenium is not installed (the dev extra has it)")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from agents.web.app import LOOPBACK_HOSTS, create_app  # noqa: E402
from agents.web.sessions import SessionOptions  # noqa: E402
from dialog_gym.wrappers import ScriptedTeacher  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("no headless browser here: install Debian's chromium and chromium-driver (.ci/run does) to run "
                "the browser test", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app under uvicorn on a thread, on 127.0.0.1 and a free port."""

    def __init__(self, out: Path, options: SessionOptions, port: int | None = None) -> None:
        self.app = create_app(out, options, allowed_hosts=list(LOOPBACK_HOSTS))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def logged(log: Path, kind: str) -> list[dict]:
    """The records of one type in a session's log."""
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return [r for r in records if r["type"] == kind]


def page_state(driver) -> dict:
    return driver.execute_script("return window.dgState")


def answered(driver, count: int, timeout: float = 120) -> dict:
    """Wait until the page has shown its ``count``-th answer and is ready for the next key."""
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return window.dgLatencies.length >= arguments[0] && !document.getElementById('accept').disabled", count))
    return page_state(driver)


def open_page(driver, server: Server) -> dict:
    driver.get(server.url)
    WebDriverWait(driver, 120).until(lambda d: d.execute_script(
        "return window.dgState && window.dgState.status === 'waiting'"))
    return page_state(driver)


def press(driver, key: str) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def click_action(driver, index: int) -> None:
    """Click the button of action ``index`` (found again if the page redrew it meanwhile)."""
    for attempt in range(3):
        try:
            driver.find_element(By.CSS_SELECTOR, f'#actions button[data-action="{index}"]').click()
            return
        except StaleElementReferenceException:
            if attempt == 2:
                raise


def pending(server: Server, sid: str):
    session = server.app.state.manager.get(sid)
    view, _, turn = session.teacher.pending()
    return session, view, turn


def test_play_correct_undo_export_in_the_browser(tmp_path, browser):
    options = SessionOptions(env="Restaurant-Env2-v0", start="scratch", retrain_every=1, eval_every=1,
                             eval_episodes=3)
    with Server(tmp_path, options) as server:
        s = open_page(browser, server)
        sid = s["id"]
        assert f"?session={sid}" in browser.current_url
        assert browser.find_element(By.ID, "transcript").text.startswith("hello")
        n = len(browser.find_elements(By.CSS_SELECTOR, "#actions button"))
        assert n == 18  # masks off: every action is a button
        # Enter accepts the proposal (the untrained bot's first action)
        press(browser, Keys.ENTER)
        s = answered(browser, 1)
        log = tmp_path / "sessions" / sid / "log.jsonl"
        steps = logged(log, "step")
        assert s["turn"] == 2 and steps[-1]["label"] == steps[-1]["proposal"] and not steps[-1]["corrected"]
        # the key 2 picks the second candidate: a correction
        second = s["candidates"][1]["index"]
        assert second != s["proposal"]
        press(browser, "2")
        s = answered(browser, 2)
        steps = logged(log, "step")
        assert steps[-1]["label"] == second and steps[-1]["corrected"]
        # a click on the expert's action
        session, view, _ = pending(server, sid)
        expert = ScriptedTeacher(session.session.env).action_for(view)
        click_action(browser, expert)
        s = answered(browser, 3)
        steps = logged(log, "step")
        assert steps[-1]["label"] == expert and len(steps) == 3
        # u undoes it
        step_before = s["step"]
        press(browser, "u")
        s = answered(browser, 4)
        assert s["step"] == step_before - 1
        assert json.loads(log.read_text().splitlines()[-1])["type"] == "undo"
        # export as stories
        browser.find_element(By.ID, "export-stories").click()
        WebDriverWait(browser, 30).until(lambda d: "exported" in d.find_element(By.ID, "exported").text)
        assert (tmp_path / "sessions" / sid / "exports" / "stories.md").is_file()
        # the chart: the evaluation of the untrained bot
        WebDriverWait(browser, 60).until(lambda d: d.execute_script(
            "return document.querySelectorAll('#chart circle').length >= 1"))
        shot = os.environ.get("DIALOG_GYM_SCREENSHOT")
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(tmp_path / "serve.png"))
        if shot:
            shutil.copyfile(tmp_path / "serve.png", shot)


def banner(driver) -> dict:
    """The banner as the person sees it: shown or not, its kind, its text, its colours."""
    return driver.execute_script("""
        const b = document.getElementById("banner");
        const style = getComputedStyle(b);
        return {shown: !b.hidden && b.offsetHeight > 0, kind: b.className, text: b.innerText,
                color: style.color, background: style.backgroundColor,
                reload: !document.getElementById("banner-reload").hidden};""")


def luminance(css: str) -> float:
    """WCAG relative luminance of an ``rgb(r, g, b)`` colour."""
    channels = [int(c) / 255 for c in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_after_a_server_restart_the_page_says_to_reload(tmp_path, browser):
    """A page opened before a restart holds the old token: its next key press is refused, and the page
    says so in a readable banner (WCAG AA contrast) with what to do; its Reload button brings it back."""
    options = SessionOptions(env="Restaurant-Env2-v0", start="scratch", retrain_every=None, eval_every=0)
    with Server(tmp_path, options) as first:
        sid = open_page(browser, first)["id"]
        port = first.port
    with Server(tmp_path, options, port=port):  # the same address, a new token
        press(browser, Keys.ENTER)
        WebDriverWait(browser, 60).until(lambda d: banner(d)["shown"])
        shown = banner(browser)
        assert "error" in shown["kind"] and shown["reload"]
        assert "missing or wrong token" in shown["text"] and "reload the page" in shown["text"]
        assert contrast(shown["color"], shown["background"]) >= 4.5
        status = browser.find_element(By.ID, "status")
        assert contrast(status.value_of_css_property("color"), status.value_of_css_property("background-color")) >= 4.5
        assert logged(tmp_path / "sessions" / sid / "log.jsonl", "step") == []  # nothing was confirmed
        if os.environ.get("DIALOG_GYM_ERROR_SCREENSHOT"):
            browser.save_screenshot(os.environ["DIALOG_GYM_ERROR_SCREENSHOT"])
        browser.find_element(By.ID, "banner-reload").click()
        WebDriverWait(browser, 120).until(lambda d: d.execute_script(
            "return window.dgState && window.dgState.status === 'waiting'"))
        assert page_state(browser)["id"] == sid and not banner(browser)["shown"]
        press(browser, Keys.ENTER)
        answered(browser, 1)
        assert len(logged(tmp_path / "sessions" / sid / "log.jsonl", "step")) == 1


def test_keys_pressed_while_the_bot_retrains_are_queued_or_refused_visibly(tmp_path, browser):
    """A correction starts a retraining (held here until the test lets it go): an undo pressed meanwhile
    is queued and runs after it, an Enter is refused with a notice; nothing is dropped silently."""
    options = SessionOptions(env="Restaurant-Env2-v0", start="scratch", retrain_every=1, eval_every=0)
    with Server(tmp_path, options) as server:
        s = open_page(browser, server)
        sid = s["id"]
        session = server.app.state.manager.get(sid)
        learner = session.session.learner
        entered, release = threading.Event(), threading.Event()
        learn = learner.learn

        def held_learn(*args, **kwargs):
            entered.set()
            assert release.wait(120)
            return learn(*args, **kwargs)

        learner.learn = held_learn
        log = tmp_path / "sessions" / sid / "log.jsonl"
        # a candidate that says something (action_restart would end the dialogue): a correction, so a retraining
        digit = next(i for i, c in enumerate(s["candidates"]) if c["name"].startswith("utter_")) + 1
        press(browser, str(digit))
        assert entered.wait(60)
        press(browser, "u")
        WebDriverWait(browser, 30).until(lambda d: "Undo queued" in banner(d)["text"])
        assert "notice" in banner(browser)["kind"] and "retraining" in banner(browser)["text"]
        press(browser, "u")  # a second one waits behind the first (at the dialogue's start it has nothing to undo)
        WebDriverWait(browser, 30).until(lambda d: "(2 commands waiting)" in banner(d)["text"])
        press(browser, Keys.ENTER)
        WebDriverWait(browser, 30).until(lambda d: "Accept not sent" in banner(d)["text"])
        assert [r["type"] for r in logged(log, "step")] == ["step"]  # the correction only (retraining still held)
        release.set()
        s = answered(browser, 3)  # the correction's answer, then the two queued undos'
        records = [json.loads(line)["type"] for line in log.read_text().splitlines()]
        assert records[-3:] == ["step", "retrain", "undo"] and records.count("step") == 1
        assert s["step"] == 0 and s["turn"] == 4 and s["messages"][-1] == "nothing to undo"


def test_the_bare_address_opens_the_latest_session(tmp_path, browser):
    options = SessionOptions(env="Restaurant-Env2-v0", start="scratch", retrain_every=None, eval_every=0)
    with Server(tmp_path, options) as server:
        first = open_page(browser, server)["id"]
        again = open_page(browser, server)["id"]  # a second visit: the same session, none made
        assert again == first and [p.name for p in (tmp_path / "sessions").iterdir()] == [first]
        press(browser, Keys.ENTER)  # the untrained bot's action_listen is shown in the transcript
        answered(browser, 1)
        assert "[listens: the customer says nothing]" in browser.find_element(By.ID, "transcript").text
        browser.find_element(By.ID, "new-session").click()
        WebDriverWait(browser, 120).until(lambda d: d.execute_script(
            "return window.dgState && window.dgState.status === 'waiting' && window.dgState.id !== arguments[0]",
            first))
        second = page_state(browser)["id"]
        assert open_page(browser, server)["id"] == second
        assert sorted(p.name for p in (tmp_path / "sessions").iterdir()) == sorted([first, second])


def play_scripted(browser, server: Server, dialogues: int) -> dict:
    """The scripted teacher answers every step through the page: Enter when the bot is right, the key of
    the candidate when it is among the first nine, else a click on the action's button."""
    s = open_page(browser, server)
    sid = s["id"]
    answers = 0
    ways = {"enter": 0, "digit": 0, "click": 0}
    ended = []  # per answer: whether it ended a dialogue (and so waited for the retraining)
    while True:
        session, view, turn = pending(server, sid)
        if len(session.session.wrapper.outcomes) >= dialogues:
            break
        assert view is not None and turn == s["turn"]
        expert = ScriptedTeacher(session.session.env).action_for(view)
        digits = [c["index"] for c in s["candidates"]]
        if expert == s["proposal"]:
            press(browser, Keys.ENTER)
            ways["enter"] += 1
        elif expert in digits:
            press(browser, str(digits.index(expert) + 1))
            ways["digit"] += 1
        else:
            click_action(browser, expert)
            ways["click"] += 1
        answers += 1
        dialogue = s["dialogue"]
        s = answered(browser, answers)
        ended.append(s["dialogue"] != dialogue)
    latencies = browser.execute_script("return window.dgLatencies")
    return {"id": sid, "answers": answers, "ways": ways, "latencies_ms": latencies, "ended": ended, "state": s}


def test_the_scripted_teacher_drives_the_page(tmp_path, browser):
    dialogues = int(os.environ.get("DIALOG_GYM_WEB_DIALOGUES", "1"))
    measuring = dialogues > 1
    options = SessionOptions(env="Restaurant-Env2-v0", start="scratch", retrain_every=None,
                             eval_every=1 if measuring else 0, eval_episodes=100)
    with Server(tmp_path, options) as server:
        result = play_scripted(browser, server, dialogues)
        session = server.app.state.manager.get(result["id"])
        summary = session.session.summary()
        assert summary.dialogues == dialogues
        assert summary.corrections == sum(summary.corrections_per_dialogue) > 0
        assert len(result["latencies_ms"]) == result["answers"] == summary.steps
        if measuring:
            deadline = time.monotonic() + 1800
            while len(session.evals) < dialogues + 1 and time.monotonic() < deadline:
                time.sleep(1)
            lat = np.asarray(result["latencies_ms"])
            report = {"dialogues": dialogues, "steps": summary.steps, "ways": result["ways"],
                      "corrections_per_dialogue": summary.corrections_per_dialogue,
                      "teacher_success": summary.success_per_dialogue, "evals": session.evals,
                      "latency_ms": {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                                     "max": float(lat.max()), "mean": float(lat.mean())}}
            within = lat[~np.asarray(result["ended"])]  # answers inside a dialogue: no retraining
            report["latency_ms_within_dialogues"] = {"p50": float(np.percentile(within, 50)),
                                                     "p95": float(np.percentile(within, 95)),
                                                     "max": float(within.max())}
            report["latency_ms_ending_dialogues"] = [round(float(x), 1) for x in lat[np.asarray(result["ended"])]]
            print(json.dumps(report, indent=1))
            if os.environ.get("DIALOG_GYM_WEB_REPORT"):
                Path(os.environ["DIALOG_GYM_WEB_REPORT"]).write_text(json.dumps(report, indent=1))
            if os.environ.get("DIALOG_GYM_SCREENSHOT"):
                time.sleep(5)  # the page polls the new evaluation points
                browser.execute_script("window.scrollTo(0, 0)")
                browser.save_screenshot(os.environ["DIALOG_GYM_SCREENSHOT"])
