"""``dialog-gym serve``: the JSON API with Starlette's test client, the serve command, restart and resume
(a new app over the same folder, and a server process killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import httpx
from starlette.testclient import TestClient

from agents.cli import main
from agents.web.app import TOKEN_HEADER, create_app
from agents.web.sessions import SessionOptions, transcript_lines
from dialog_gym.wrappers import ScriptedTeacher, read_log

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:starlette.*")

TOKEN = "test-token-0123456789abcdef"
HEADERS = {TOKEN_HEADER: TOKEN}
ROOT = Path(__file__).resolve().parents[1]


def options(env: str = "Restaurant-Env2-v0", **kw) -> SessionOptions:
    return SessionOptions(env=env, start="scratch", seed=0, retrain_every=kw.pop("retrain_every", None),
                          eval_every=kw.pop("eval_every", 0), eval_episodes=kw.pop("eval_episodes", 5), **kw)


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path, options(), TOKEN)
    with TestClient(app) as c:
        c.out = tmp_path
        c.app_ = app
        yield c


def new_session(c) -> dict:
    r = c.post("/api/sessions", headers=HEADERS, json={})
    assert r.status_code == 201, r.text
    return r.json()


def decide(c, sid, **body):
    return c.post(f"/api/sessions/{sid}/decide", headers=HEADERS, json=body)


def log_records(out: Path, sid: str) -> list[dict]:
    return [json.loads(line) for line in (out / "sessions" / sid / "log.jsonl").read_text().splitlines()]


def log_bytes(out: Path, sid: str) -> bytes:
    return (out / "sessions" / sid / "log.jsonl").read_bytes()


def expert_action(c, sid: str) -> int:
    """What the scripted teacher (the rule expert) answers to the step the session waits on."""
    session = c.app_.state.manager.get(sid)
    view, _, _ = session.teacher.pending()
    return ScriptedTeacher(session.session.env).action_for(view)


# ---------------------------------------------------------------------- the page and the token
def test_page_embeds_the_token_only_when_asked(tmp_path):
    with TestClient(create_app(tmp_path, options(), TOKEN)) as c:
        page = c.get("/")
        assert page.status_code == 200 and TOKEN in page.text
        assert c.get("/static/app.js").status_code == 200
        assert "http" not in re.sub(r"http://www\.w3\.org/2000/svg", "", c.get("/static/app.js").text)  # no CDN
    with TestClient(create_app(tmp_path, options(), TOKEN, embed_token=False)) as c:
        assert TOKEN not in c.get("/").text


def test_every_api_request_needs_the_token(client):
    assert client.get("/api/sessions").status_code == 401
    assert client.get("/api/sessions", headers={TOKEN_HEADER: "wrong"}).status_code == 403
    r = client.post("/api/sessions", json={})
    assert r.status_code == 401 and "token" in r.json()["error"]
    assert not (client.out / "sessions").exists()
    assert client.get("/api/sessions", headers=HEADERS).json() == {"sessions": [], "latest": None}


@pytest.mark.parametrize("embed, words", [(True, "restarted since this page was opened"), (False, "--token")])
def test_a_page_from_before_a_restart_is_told_what_to_do(tmp_path, embed, words):
    """The server made a new token at its restart: the old page's requests are refused with a hint to
    reload (a page whose token the user typed: to enter the server's token)."""
    with TestClient(create_app(tmp_path, options(), "old-token-0123456789", embed_token=embed)) as c:
        r = c.get("/api/sessions", headers={TOKEN_HEADER: "old-token-0123456789"})
        assert r.status_code == 200
    with TestClient(create_app(tmp_path, options(), TOKEN, embed_token=embed)) as c:
        r = c.get("/api/sessions", headers={TOKEN_HEADER: "old-token-0123456789"})
        assert r.status_code == 403 and "wrong token" in r.json()["error"]
        assert words in r.json()["hint"] and "eload the page" in r.json()["hint"]
        assert "hint" in c.get("/api/sessions").json()  # missing: the same hint


def test_refusals_say_what_to_do(client):
    sid = new_session(client)["id"]
    r = decide(client, sid, command="accept", turn=7)
    assert r.status_code == 409 and r.json()["hint"].startswith("Reload the page")
    r = decide(client, "nope", command="accept")
    assert r.status_code == 404 and "without ?session=" in r.json()["hint"]
    r = decide(client, sid, command="fly")  # nothing to do but send something else: no hint
    assert r.status_code == 400 and "hint" not in r.json()


def test_the_latest_session_comes_first_also_after_a_restart(tmp_path):
    app = create_app(tmp_path, options(), TOKEN)
    with TestClient(app) as c:
        a, b = new_session(c)["id"], new_session(c)["id"]
        listing = c.get("/api/sessions", headers=HEADERS).json()
        assert listing["latest"] == b and [row["id"] for row in listing["sessions"]] == [b, a]
        assert decide(c, a, command="accept").status_code == 200  # a is used after b was made
        listing = c.get("/api/sessions", headers=HEADERS).json()
        assert listing["latest"] == a and [row["id"] for row in listing["sessions"]] == [a, b]
        assert listing["sessions"][0]["updated"] >= listing["sessions"][1]["updated"]
    with TestClient(create_app(tmp_path, options(), TOKEN)) as c:  # resuming writes nothing: a stays the latest
        for sid in (a, b):
            c.get(f"/api/sessions/{sid}?wait=1", headers=HEADERS)
        assert c.get("/api/sessions", headers=HEADERS).json()["latest"] == a


def test_a_listen_the_user_does_not_answer_shows_in_the_transcript(client):
    """The untrained bot proposes action_listen right after the greeting: accepting it adds no bot line
    and no user line, so the transcript says that the bot listened."""
    s = new_session(client)
    assert s["proposal"] == 0 and s["actions"][0]["name"] == "action_listen"
    assert [r["text"] for r in s["transcript"]] == ["hello"]
    s = decide(client, s["id"], command="accept", turn=s["turn"]).json()
    assert [r["text"] for r in s["transcript"]] == ["hello", "[listens: the customer says nothing]"]
    s = decide(client, s["id"], command="accept", turn=s["turn"]).json()
    assert [r["who"] for r in s["transcript"]] == ["user", "bot", "bot"]


def test_no_permissive_cors(client):
    r = client.options("/api/sessions", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}


def test_other_hosts_are_refused_on_loopback(tmp_path):
    app = create_app(tmp_path, options(), TOKEN, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://evil.example") as c:
        assert c.get("/").status_code == 400
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/").status_code == 200


# ---------------------------------------------------------------------- one session, every command
def test_state_of_a_new_session(client):
    s = new_session(client)
    assert s["status"] == "waiting" and s["turn"] == 1 and s["dialogue"] == 0 and s["step"] == 0
    assert s["transcript"][0]["who"] == "user"
    assert s["tracker"]["intent"] == "greet" and s["tracker"]["slots"]["cuisine"] is None
    n = len(s["actions"])
    assert all(a["allowed"] for a in s["actions"])  # masks off
    # untrained: uniform over the 18 actions, the proposal is the first
    assert s["proposal"] == 0 and s["candidates"][0]["probability"] == pytest.approx(1 / n, abs=1e-4)
    assert len(s["candidates"]) == 9
    greet = next(a for a in s["actions"] if a["name"] == "utter_greet")
    assert greet["text"]  # the template, filled
    assert client.get(f"/api/sessions/{s['id']}", headers=HEADERS).json()["turn"] == 1
    listing = client.get("/api/sessions", headers=HEADERS).json()["sessions"]
    assert [row["id"] for row in listing] == [s["id"]]
    records = log_records(client.out, s["id"])
    assert [r["type"] for r in records] == ["header", "dialogue"]


def test_undo_goes_back_past_forced_steps_to_the_last_choice(tmp_path):
    """With masks on, the action_listen after a bot utterance is the only allowed action: it is taken
    without asking, and an undo goes back past it to the human's choice (as at the terminal), rather than
    taking it back and taking it again."""
    app = create_app(tmp_path, options("Restaurant-v0"), TOKEN)
    with TestClient(app) as c:
        c.app_ = app
        s = new_session(c)
        sid = s["id"]
        assert s["step"] == 0
        s = decide(c, sid, command="correct", action=expert_action(c, sid), turn=1).json()
        assert s["step"] == 2  # bot action 2, the forced action_listen, was not asked
        s = decide(c, sid, command="undo", turn=2).json()
        assert s["step"] == 0 and s["turn"] == 3
        assert [r["step"] for r in log_records(tmp_path, sid) if r["type"] == "undo"] == [1, 0]


def test_accept_correct_undo_reset_reach_the_log(client):
    s = new_session(client)
    sid = s["id"]
    expert = expert_action(client, sid)
    assert expert != s["proposal"]
    s = decide(client, sid, command="correct", action=expert, turn=1).json()
    step = log_records(client.out, sid)[-1]
    assert step["type"] == "step" and step["label"] == expert and step["proposal"] == 0 and step["corrected"]
    assert s["turn"] == 2 and s["step"] == 1 and s["totals"]["corrections"] == 1
    s = decide(client, sid, command="accept", turn=2).json()
    step = log_records(client.out, sid)[-1]
    assert step["label"] == step["proposal"] == 0 and not step["corrected"] and s["step"] == 2
    s = decide(client, sid, command="undo").json()
    assert log_records(client.out, sid)[-1] == {"type": "undo", "dialogue": 0, "step": 1}
    assert s["step"] == 1 and any(m.startswith("undone") for m in s["messages"])
    s = decide(client, sid, command="reset").json()
    end = [r for r in log_records(client.out, sid) if r["type"] == "end"][-1]
    assert end["type"] == "end" and end["reason"] == "reset"
    assert s["dialogue"] == 1 and s["step"] == 0 and s["chart"]["corrections"] == [1]


@pytest.mark.parametrize("body, status, words", [
    ({"command": "correct", "action": 18}, 422, "no action 18"),
    ({"command": "correct", "action": -1}, 422, "no action -1"),
    ({"command": "correct", "action": "2"}, 400, "integer action"),
    ({"command": "correct", "action": True}, 400, "integer action"),
    ({"command": "correct"}, 400, "integer action"),
    ({"command": "accept", "action": 2}, 400, "takes no action"),
    ({"command": "fly"}, 400, "command must be"),
    ({}, 400, "command must be"),
    ({"command": "accept", "turn": 7}, 409, "reload"),
    ({"command": "accept", "turn": "1"}, 400, "turn must be"),
    ({"command": "accept", "extra": 1}, 400, "unknown field"),
])
def test_bad_decisions_are_refused_and_change_nothing(client, body, status, words):
    sid = new_session(client)["id"]
    before = log_bytes(client.out, sid)
    r = decide(client, sid, **body)
    assert r.status_code == status and words in (r.json()["error"] + " " + r.json().get("hint", "")).lower()
    assert log_bytes(client.out, sid) == before
    assert client.get(f"/api/sessions/{sid}", headers=HEADERS).json()["turn"] == 1


def test_malformed_and_oversized_bodies(client):
    sid = new_session(client)["id"]
    before = log_bytes(client.out, sid)
    url = f"/api/sessions/{sid}/decide"
    r = client.post(url, headers={**HEADERS, "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 400 and "not JSON" in r.json()["error"]
    r = client.post(url, headers=HEADERS, content=b"[1, 2]")
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
    r = client.post(url, headers=HEADERS, json={"command": "accept", "pad": "x" * 5000})
    assert r.status_code == 413
    r = client.post(url, headers=HEADERS, content=(b"x" * 3000 for _ in range(3)))  # chunked, no length
    assert r.status_code == 413
    assert log_bytes(client.out, sid) == before


def test_unknown_session(client):
    for path in ("/api/sessions/nope", "/api/sessions/..%2F..%2Fetc"):
        assert client.get(path, headers=HEADERS).status_code == 404
    r = decide(client, "nope", command="accept")
    assert r.status_code == 404 and "no session" in r.json()["error"]
    assert client.post("/api/sessions/nope/export", headers=HEADERS, json={}).status_code == 404


def test_a_masked_action_is_refused(tmp_path):
    with TestClient(create_app(tmp_path, options("Restaurant-v0"), TOKEN)) as c:
        s = new_session(c)
        masked = next(a for a in s["actions"] if not a["allowed"])
        before = log_bytes(tmp_path, s["id"])
        r = decide(c, s["id"], command="correct", action=masked["index"])
        assert r.status_code == 422 and "not allowed here" in r.json()["error"]
        assert log_bytes(tmp_path, s["id"]) == before
        assert all(b["allowed"] for b in s["actions"] if b["index"] in {x["index"] for x in s["candidates"]})


# ---------------------------------------------------------------------- exports
@pytest.mark.parametrize("name", ["../evil", "../../evil", "/tmp/evil", "a/b", "..", ".hidden", "x" * 65, 3, "",
                                  "a\x00b", "évil"])
def test_export_never_leaves_the_folder(client, name):
    sid = new_session(client)["id"]
    outside = set(client.out.parent.iterdir())
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "stories", "name": name})
    assert r.status_code == 400 and "export name" in r.json()["error"]
    assert set(client.out.parent.iterdir()) == outside
    assert not (client.out / "sessions" / sid / "exports").exists()


@pytest.mark.parametrize("name", ["../evil-v0", "/tmp/evil-v0", "a/../../b-v0", "a//b-v0", "..-v0", "evil", 7])
def test_minari_export_never_leaves_the_folder(client, name):
    sid = new_session(client)["id"]
    outside = set(client.out.parent.iterdir())
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "minari", "name": name})
    assert r.status_code == 400 and "Minari dataset id" in r.json()["error"]
    assert set(client.out.parent.iterdir()) == outside
    assert not (client.out / "sessions" / sid / "minari").exists()


def test_an_empty_session_has_nothing_to_export_as_minari(client):
    pytest.importorskip("minari")
    sid = new_session(client)["id"]
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "minari"})
    assert r.status_code == 409 and "nothing to export" in r.json()["error"]


def test_export_stories_and_download(client):
    sid = new_session(client)["id"]
    decide(client, sid, command="correct", action=expert_action(client, sid))
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "stories", "name": "mine"})
    assert r.status_code == 200, r.text
    path = client.out / "sessions" / sid / "exports" / "mine.md"
    assert r.json()["path"] == str(path.resolve()) and path.is_file()
    text = path.read_text()
    assert "## interactive_0001" in text and "* greet" in text
    got = client.get(r.json()["url"], headers=HEADERS)
    assert got.status_code == 200 and got.text == text
    assert client.get(r.json()["url"]).status_code == 401
    for bad in ("..%2Flog.jsonl", "log.jsonl", "nothing.md"):
        assert client.get(f"/api/sessions/{sid}/exports/{bad}", headers=HEADERS).status_code == 404
    assert log_records(client.out, sid)[-1]["type"] == "export"
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "csv"})
    assert r.status_code == 400


def test_export_minari(client):
    pytest.importorskip("minari")
    sid = new_session(client)["id"]
    decide(client, sid, command="correct", action=expert_action(client, sid))
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "minari"})
    assert r.status_code == 200, r.text
    assert r.json()["dataset"] == f"dialog_gym/session-{sid}-v0"
    assert Path(r.json()["path"]).resolve().is_relative_to((client.out / "sessions" / sid).resolve())
    r = client.post(f"/api/sessions/{sid}/export", headers=HEADERS, json={"format": "minari"})
    assert r.json()["dataset"] == f"dialog_gym/session-{sid}-v1"


# ---------------------------------------------------------------------- several sessions, evaluation
def test_two_sessions_at_once(client):
    a, b = new_session(client)["id"], new_session(client)["id"]
    assert a != b
    errors: list[str] = []

    def play(sid: str, steps: int) -> None:
        for _ in range(steps):
            r = decide(client, sid, command="correct", action=expert_action(client, sid))
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=play, args=(a, 6)), threading.Thread(target=play, args=(b, 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    steps_a = [r for r in log_records(client.out, a) if r["type"] == "step"]
    steps_b = [r for r in log_records(client.out, b) if r["type"] == "step"]
    assert len(steps_a) == 6 and len(steps_b) == 4
    assert all(r["corrected"] == (r["label"] != r["proposal"]) for r in steps_a + steps_b)


def test_the_bot_alone_is_evaluated_every_few_dialogues(tmp_path):
    with TestClient(create_app(tmp_path, options(eval_every=1, eval_episodes=3), TOKEN)) as c:
        sid = new_session(c)["id"]
        evals = []
        deadline = time.monotonic() + 180  # the evaluation runs in a spawned process: slow on a loaded machine
        while not evals and time.monotonic() < deadline:
            evals = c.get(f"/api/sessions/{sid}", headers=HEADERS).json()["evals"]
            time.sleep(0.05)
        # the untrained bot proposes action_listen (the first action) forever: no dialogue succeeds
        assert evals == [{"dialogues": 0, "success_rate": 0.0, "episodes": 3}]
        assert json.loads((tmp_path / "sessions" / sid / "evals.json").read_text()) == evals


def test_transcript_lines():
    text = ("USER: hi there    [NLU: greet @ 0.42]\nBOT:  hello! how can I help?\nUSER: /affirm\n"
            "--- restarted ---\n")
    assert transcript_lines(text) == [
        {"who": "user", "text": "hi there", "nlu": "greet", "confidence": 0.42},
        {"who": "bot", "text": "hello! how can I help?"},
        {"who": "user", "text": "/affirm"},
        {"who": "note", "text": "--- restarted ---"},
    ]


# ---------------------------------------------------------------------- restart and resume
def play_expert(c, sid: str, steps: int) -> dict:
    s = {}
    for _ in range(steps):
        s = decide(c, sid, command="correct", action=expert_action(c, sid)).json()
    return s


def test_a_new_app_resumes_every_session(tmp_path):
    app = create_app(tmp_path, options(), TOKEN)
    with TestClient(app) as c:
        c.app_ = app
        a, b = new_session(c)["id"], new_session(c)["id"]
        sa = play_expert(c, a, 1)
        while sa["dialogue"] < 1 or sa["step"] < 2:  # past the end of the first dialogue
            sa = play_expert(c, a, 1)
        sb = play_expert(c, b, 3)
    assert sa["dialogue"] >= 1
    app = create_app(tmp_path, options(), TOKEN)
    with TestClient(app) as c:
        c.app_ = app
        for sid, before in ((a, sa), (b, sb)):
            s = c.get(f"/api/sessions/{sid}?wait=1", headers=HEADERS).json()
            assert (s["dialogue"], s["step"], s["totals"]) == (before["dialogue"], before["step"], before["totals"])
            assert s["transcript"] == before["transcript"] and s["proposal"] == before["proposal"]
            assert any("resumed" in m for m in s["messages"])
        s = play_expert(c, a, 1)
        assert s["totals"]["steps"] == sa["totals"]["steps"] + 1
    log = read_log(tmp_path / "sessions" / a / "log.jsonl")
    assert sum(r["type"] == "step" for r in log.records) == sa["totals"]["steps"] + 1


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(out: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "agents", "serve", "--env", "Restaurant-Env2-v0", "--out", str(out),
                             "--port", str(port), "--token", TOKEN, "--retrain-every", "0", "--eval-every", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise AssertionError(f"the server stopped: {proc.stdout.read()}")
    proc.kill()
    raise AssertionError("the server did not start")


def test_a_server_killed_with_sigkill_loses_nothing_confirmed(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(tmp_path, port)
    try:
        s = httpx.post(f"{base}/api/sessions", headers=HEADERS, json={}, timeout=120).json()
        sid = s["id"]
        for action in (2, 0, 5, 0):  # corrections and accepts, whatever they are
            s = httpx.post(f"{base}/api/sessions/{sid}/decide", headers=HEADERS, timeout=120,
                           json={"command": "correct", "action": action, "turn": s["turn"]}).json()
        confirmed = s["totals"]["steps"]
        second = subprocess.run([sys.executable, "-m", "agents", "serve", "--out", str(tmp_path), "--port", "0"],
                                capture_output=True, text=True, timeout=120, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert second.returncode == 1 and second.stderr.count("\n") == 1, second.stderr
        assert f"in use by dialog-gym serve (pid {proc.pid})" in second.stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert confirmed == 4
    proc = start_server(tmp_path, port)
    try:
        r = httpx.get(f"{base}/api/sessions/{sid}?wait=1", headers=HEADERS, timeout=120).json()
        assert r["totals"]["steps"] == confirmed and r["transcript"] == s["transcript"]
        assert r["dialogue"] == s["dialogue"] and r["step"] == s["step"]
        listing = httpx.get(f"{base}/api/sessions", headers=HEADERS, timeout=30).json()["sessions"]
        assert [row["id"] for row in listing] == [sid]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown


# ---------------------------------------------------------------------- the command's checks
def test_serve_refuses_a_public_host_without_token(tmp_path, capsys):
    assert main(["serve", "--host", "0.0.0.0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--token" in err and "secrets.token_urlsafe(32)" in err and "Traceback" not in err
    assert main(["serve", "--host", "0.0.0.0", "--token", "short", "--out", str(tmp_path)]) == 2
    assert "too short" in capsys.readouterr().err
    assert main(["serve", "--policy", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2


def test_one_server_per_folder(tmp_path, capsys):
    """A second server on the same --out would append to the same session logs: it is refused in one line,
    naming the holder; the lock goes with its holder."""
    from dialog_gym.errors import PersistenceError
    from dialog_gym.utils import exclusive_folder

    with exclusive_folder(tmp_path, "dialog-gym serve"):
        assert main(["serve", "--out", str(tmp_path), "--port", "0"]) == 1
        err = capsys.readouterr().err
        assert err == (f"dialog-gym serve: error: {tmp_path}: in use by dialog-gym serve (pid {os.getpid()}); "
                       "one dialog-gym serve per folder (or choose another)\n")
        with pytest.raises(PersistenceError, match="in use by"), exclusive_folder(tmp_path, "another"):
            pass
    with exclusive_folder(tmp_path, "the next one"):
        assert (tmp_path / ".lock").read_text() == f"the next one (pid {os.getpid()})"


def test_an_env_config_path_goes_by_value_to_the_evaluating_process(tmp_path):
    from dialog_gym.envs import EnvRef

    config = EnvRef.parse(str(ROOT / "configs" / "envs" / "restaurant.yml"))
    opts = SessionOptions(env=config.to_json(), start="scratch", retrain_every=None, eval_every=1, eval_episodes=2)
    with TestClient(create_app(tmp_path, opts, TOKEN)) as c:
        s = new_session(c)
        assert s["status"] == "waiting" and s["transcript"][0]["who"] == "user"
        evals = []
        for _ in range(600):  # evaluated in the spawned process, which registered nothing for the path
            evals = c.get(f"/api/sessions/{s['id']}", headers=HEADERS).json()["evals"]
            if evals:
                break
            time.sleep(0.1)
        assert evals == [{"dialogues": 0, "success_rate": 0.0, "episodes": 2}]
        assert c.get("/api/sessions", headers=HEADERS).json()["sessions"][0]["env"] == config.label


def test_a_session_from_a_saved_policy(tmp_path):
    from agents.imitation import make_learner

    learner = make_learner("scratch", env_id="dialog_gym/Restaurant-Env2-v0", scratch_dialogues=3)
    learner.policy.persist(tmp_path / "policy")
    opts = SessionOptions(env="Restaurant-Env2-v0", start="policy", policy=str(tmp_path / "policy"), eval_every=0)
    app = create_app(tmp_path / "out", opts, TOKEN)
    with TestClient(app) as c:
        s = new_session(c)
        session = app.state.manager.get(s["id"])
        view, _, _ = session.teacher.pending()
        # the saved policy proposes what the policy it was saved from proposes (masks off: nothing masked)
        raw = np.asarray(learner.action_probabilities(None, session.session.wrapper.dialogue_env.tracker_info()))
        assert np.allclose(view.probabilities, raw / raw.sum())
        assert s["candidates"][0]["probability"] > 2 / len(s["actions"])  # not the untrained uniform
        header = log_records(tmp_path / "out", s["id"])[0]
        assert header["learner"]["start"] == f"policy {tmp_path / 'policy'}"
