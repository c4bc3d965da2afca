"""A fake OpenAI chat-completions server for tests: no model, no network beyond 127.0.0.1.

``FakeOpenAI(answer)`` serves ``POST /v1/chat/completions`` (and ``GET /v1/models``) on 127.0.0.1 at a port
the OS picks, in a thread, while its ``with`` block runs; ``server.base_url`` is what a client's
``base_url`` takes (``http://127.0.0.1:PORT/v1``). Each request's JSON body is passed to ``answer``, which
returns either an assistant message (a dict: answered with status 200 in OpenAI's format, with ``usage``)
or a :class:`Reply` (any status and body, after a delay: errors, 429s, hangs). ``server.script(r1, r2, ...)``
queues replies used before ``answer`` (one per request, in order). ``server.requests`` holds every body
received, ``server.usage`` the ``(prompt_tokens, completion_tokens)`` of every 200 answer.

The helpers build answers: :func:`tool_call`, :func:`text`, :func:`error`, :func:`hang`, and
:func:`expert_answer`, which answers with the rule expert's act (computed by replaying the conversation
in a chat env of its own), so that a client driven by it must give the numbers of
``rollout --interface chat --policy rule``. The ``fake_openai`` fixture gives a started server that
answers with plain text until a test sets ``server.answer``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Message = dict[str, Any]


@dataclass
class Reply:
    """One scripted HTTP answer: ``status`` with ``body`` (a dict is sent as JSON, a str as it is; None: an
    empty body), after ``delay`` seconds, with extra ``headers``."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Answer = Callable[[dict[str, Any]], "Message | Reply"]


def tool_call(name: str, arguments: Any = None, call_id: str = "call_fake") -> Message:
    """An assistant message with one function call; ``arguments``: a dict (sent as JSON) or a raw string
    (to send malformed JSON)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}]}


def text(content: str) -> Message:
    """An assistant message without a tool call."""
    return {"role": "assistant", "content": content}


def error(status: int, message: str = "scripted error", retry_after_ms: int | None = 10) -> Reply:
    """An error answer in OpenAI's format; ``retry-after-ms`` tells the client how long to wait before
    retrying (short, so that tests of retries are quick)."""
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    return Reply(status, {"error": {"message": message, "type": "fake_error", "code": status}}, headers=headers)


def hang(seconds: float = 30.0) -> Reply:
    """An answer that comes only after ``seconds`` (a client with a shorter timeout gives up first; the
    server's wait ends early when it stops)."""
    return Reply(200, None, delay=seconds)


def completion(message: Message, model: str, usage: tuple[int, int]) -> dict[str, Any]:
    """A chat-completions response body in OpenAI's format."""
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                      "total_tokens": usage[0] + usage[1]}}


def token_counts(body: dict[str, Any], message: Message) -> tuple[int, int]:
    """The fake's token counts: a quarter of the characters of the request's messages and of the answer."""
    return len(json.dumps(body.get("messages", []))) // 4, max(1, len(json.dumps(message)) // 4)


class FakeOpenAI:
    """The fake server (see the module docstring); a context manager."""

    def __init__(self, answer: Answer | None = None, api_key: str | None = None, models: Sequence[str] = ()) -> None:
        #: answers every request not taken by a scripted reply
        self.answer: Answer = answer or (lambda body: text("I am a fake model."))
        #: with it, a request without ``Authorization: Bearer <api_key>`` gets 401
        self.api_key = api_key
        #: with them, a request for another model gets 404 (as OpenAI answers an unknown model)
        self.models = list(models)
        self.requests: list[dict[str, Any]] = []
        self.usage: list[tuple[int, int]] = []
        self._queue: list[Message | Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the server is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Message | Reply) -> None:
        """Queue ``replies``: the next requests get them, one each, before :attr:`answer` is asked."""
        with self._lock:
            self._queue.extend(replies)

    def _next(self, body: dict[str, Any]) -> Message | Reply:
        with self._lock:
            self.requests.append(body)
            if self._queue:
                return self._queue.pop(0)
        return self.answer(body)

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, reply: Reply) -> None:
                data = (b"" if reply.body is None else reply.body.encode() if isinstance(reply.body, str)
                        else json.dumps(reply.body).encode())
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(Reply(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]}))
                else:
                    self._send(error(404, f"no route {self.path}", None))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(error(400, "the body is not JSON", None))
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(error(404, f"no route {self.path}", None))
                    return
                if fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._send(error(401, "Incorrect API key provided", None))
                    return
                if fake.models and body.get("model") not in fake.models:
                    self._send(error(404, f"The model `{body.get('model')}` does not exist", None))
                    return
                reply = fake._next(body)
                if isinstance(reply, Reply):
                    if reply.delay and fake._stopping.wait(reply.delay):
                        return  # the server stops: drop the connection
                    if reply.body is None and reply.status == 200:
                        reply = Reply(200, {"error": "hung"})
                    with contextlib.suppress(OSError):  # the client gave up (a timeout): nothing to answer
                        self._send(reply)
                    return
                usage = token_counts(body, reply)
                with fake._lock:
                    fake.usage.append(usage)
                self._send(Reply(200, completion(reply, str(body.get("model")), usage)))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def expert_answer(env: str, reset_seeds: Sequence[int]) -> Answer:
    """An answer that is the rule expert's act, as a tool call, in the dialogue the request continues.

    The dialogue is found by its customer's first message among ``reset_seeds`` of ``env`` (a chat env is
    reset with each) and by replaying the request's assistant messages (the candidate whose answers equal the
    request's messages is the one); the env stepped with the answer is kept for the dialogue's next request,
    so a dialogue costs one replay at most."""
    from dialog_gym import chat

    openings: dict[str, list[int]] = {}
    for seed in reset_seeds:
        probe = chat.make(env)
        messages, _ = probe.reset(seed=seed)
        openings.setdefault(messages[1]["content"], []).append(seed)
        probe.close()
    waiting: dict[str, list[tuple[Any, Any]]] = {}  # conversation so far -> chat envs at that point
    lock = threading.Lock()

    def key(messages: Sequence[Message]) -> str:
        return json.dumps([normal(m) for m in messages], sort_keys=True)

    def replay(messages: Sequence[Message]) -> tuple[Any, Any] | None:
        for seed in openings.get(str(messages[1].get("content")) if len(messages) > 1 else "", []):
            env_chat = chat.make(env)
            env_chat.reset(seed=seed)
            for message in messages[2:]:
                if message.get("role") == "assistant":
                    env_chat.step(message)
            if key(env_chat.messages) == key(messages):
                return env_chat, chat.rule_agent(env_chat)
        return None

    def answer(body: dict[str, Any]) -> Message | Reply:
        messages = body.get("messages") or []
        with lock:
            found = waiting.get(key(messages))
            state = found.pop() if found else replay(messages)
            if state is None:
                return error(400, "fake expert: no dialogue of its customers continues like this", None)
            env_chat, agent = state
            message = agent(env_chat.messages, {})
            _, _, terminated, truncated, _ = env_chat.step(message)
            if not (terminated or truncated):
                waiting.setdefault(key(env_chat.messages), []).append(state)
        return message

    return answer


def normal(message: Message) -> dict[str, Any]:
    """A message as the comparison of conversations sees it (what a client may drop or add left out)."""
    calls = [{"id": c.get("id"), "name": c.get("function", {}).get("name"),
              "arguments": c.get("function", {}).get("arguments")} for c in message.get("tool_calls") or []]
    return {"role": message.get("role"), "content": message.get("content") or None, "tool_calls": calls,
            "tool_call_id": message.get("tool_call_id")}


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started :class:`FakeOpenAI` (set ``.answer`` or call ``.script``), stopped after the test."""
    with FakeOpenAI() as server:
        yield server
