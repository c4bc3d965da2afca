"""A language model as the dialogue manager: any OpenAI-compatible chat-completions endpoint plays the chat
interface's dialogues (:mod:`dialog_gym.chat`), concurrently, each transcript saved as it ends.

An agent is named ``openai:MODEL``. Each dialogue sends the whole conversation so far with the chat env's
tools to ``POST {base_url}/chat/completions`` and steps the env with the answer (a tool call; anything else
costs the turn, as the chat env decides). The client is the ``openai`` library (the ``openai`` extra): its
own timeout and its retries with exponential backoff (429, 5xx, dropped connections; ``max_retries``) are
used as they are.

**Concurrency.** ``concurrency`` dialogues run at once as asyncio tasks sharing one ``AsyncOpenAI`` client
(one connection pool), each worker with a chat env of its own. asyncio rather than a thread pool because
the time is spent waiting for the endpoint: a task per dialogue costs nothing while it waits, and Ctrl-C
or an endpoint that cannot be used cancels every request at once (threads blocked in a request could
only be abandoned). The env's steps run in the loop (a step takes well under a millisecond). Results do
not depend on ``concurrency``: dialogue ``(seed, index, trial)`` is reset with ``stream(seed, index)``
whichever worker plays it (trials of a customer share the reset seed: the same goal, and the same noise
given the same acts), and what the model says is the model's business (``model_seed`` asks the server for
repeatable sampling: :func:`dialog_gym.seeds.model_request_seed`).

**Errors.** An endpoint that cannot be used stops the run with :class:`EndpointError`, one line: the key
refused (401/403: names ``OPENAI_API_KEY``), no such model (404: names the model), and, before any request
has succeeded, an endpoint that cannot be reached (names the URL) or that refuses the request (400). After
that, a request that fails for good (a timeout, retries exhausted on 429/5xx, a dropped connection, a
400 such as a context too long) ends its dialogue as an *error*: recorded with its message, left out of
success and pass^k, counted apart; the run goes on.

**Transcripts** (:class:`TranscriptLog`): ``OUT/transcripts.jsonl``, one JSON line per finished dialogue
(the customer's seeds, the trial, every message, the tool calls, reward, success, turns, the error if any,
tokens from the responses' ``usage``, seconds waited), appended and fsynced as each dialogue ends, so an
interrupted run loses only the dialogues in flight. Each line records the settings that made it; a rerun
into the same folder with the same settings plays only what is missing (and the dialogues that ended in
an error), with other settings it is refused unless ``fresh``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.metrics import EpisodeResult

if TYPE_CHECKING:
    import openai

    from dialog_gym.chat import ChatEnv
    from dialog_gym.envs import EnvRef

#: the prefix of a language-model agent's name: ``openai:MODEL``
LLM_PREFIX = "openai:"
#: the key sent when ``OPENAI_API_KEY`` is unset (a local server needs none; the client needs a string)
PLACEHOLDER_KEY = "no-key"
#: OpenAI's own endpoint: the client's default when neither ``--base-url`` nor ``OPENAI_BASE_URL`` is given
DEFAULT_BASE_URL = "https://api.openai.com/v1"
TRANSCRIPTS = "transcripts.jsonl"
SUMMARY = "summary.json"


class EndpointError(DialogGymError):
    """The endpoint cannot be used at all (unreachable, key refused, no such model): the run stops."""


def is_llm_agent(name: str) -> bool:
    """Whether ``name`` names a language-model agent (``openai:MODEL``)."""
    return name.startswith(LLM_PREFIX)


def model_of(name: str) -> str:
    """The model of an ``openai:MODEL`` agent name (the package's error when it names none)."""
    model = name[len(LLM_PREFIX):].strip() if is_llm_agent(name) else ""
    if not model:
        raise DialogGymError(f"{name!r}: expected openai:MODEL, the model as the endpoint names it "
                             "(e.g. openai:gpt-4o-mini, openai:qwen2.5:0.5b)")
    return model


@dataclass(frozen=True)
class LLMSettings:
    """How a language-model agent is called. :meth:`identity` is what its dialogues depend on (a rerun
    with other values starts afresh); the rest only changes how long they take or how often they fail."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    temperature: float | None = None    # None: the server's default
    model_seed: int | None = None       # None: no seed is sent
    timeout: float = 600.0              # seconds per request, each retry again (the client's default: a CPU model
                                        # may take minutes to read a long conversation)
    max_retries: int = 2                # the client's retries of 429, 5xx and dropped connections
    concurrency: int = 4                # dialogues at once

    def identity(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, "temperature": self.temperature,
                "model_seed": self.model_seed}


def resolve_base_url(url: str | None) -> str:
    """``url``, else ``OPENAI_BASE_URL``, else OpenAI's endpoint; without a trailing slash."""
    return (url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def api_key() -> str:
    """``OPENAI_API_KEY`` when set, else a placeholder (a local server needs no key)."""
    return os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_KEY


def import_openai() -> Any:
    """The ``openai`` module, or :class:`~agents.extras.MissingExtra` saying how to install it."""
    from agents.extras import MissingExtra, missing_message

    try:
        import openai
    except ImportError:
        raise MissingExtra(missing_message("a language-model agent (openai:MODEL)", "openai", "openai")) from None
    return openai


@dataclass(frozen=True)
class Dialogue:
    """One dialogue to play: customer ``index`` of run seed ``seed`` (reset with ``reset_seed``), trial
    ``trial`` of it."""

    seed: int
    index: int
    reset_seed: int
    trial: int

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.seed, self.index, self.trial)


def plan_dialogues(seeds: Iterable[int], episodes: int, trials: int,
                   stream: Callable[[int, int], int]) -> list[Dialogue]:
    """Every dialogue of a run: for each run seed, ``episodes`` customers (reset with ``stream(seed, i)``),
    each played ``trials`` times; customer by customer, so that an interrupted run has whole customers."""
    return [Dialogue(seed, i, stream(seed, i), t) for seed in seeds for i in range(episodes) for t in range(trials)]


class TranscriptLog:
    """``OUT/transcripts.jsonl``: one line per finished dialogue, appended and fsynced at once.

    Every line records the settings that made it (``run``); :meth:`open` refuses a file made with others
    (unless ``fresh``, which starts the file anew) and gives the lines already there, the last one per
    dialogue counting. A last line cut short by a crash is dropped (and the file truncated before it); a
    malformed line elsewhere is the package's error naming the file and the line."""

    def __init__(self, out: str | os.PathLike, run: dict[str, Any]) -> None:
        self.path = Path(out) / TRANSCRIPTS
        self.run = run

    def open(self, fresh: bool = False) -> dict[tuple[int, int, int], dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh or not self.path.exists():
            self.path.write_text("", encoding="utf-8")
            return {}
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        found: dict[tuple[int, int, int], dict[str, Any]] = {}
        offset = 0
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                offset += len(raw) + 1
                continue
            try:
                line = json.loads(raw)
                key = (int(line["seed"]), int(line["index"]), int(line["trial"]))
            except (ValueError, KeyError, TypeError):
                if number == len(lines):  # a line cut short by a crash: drop it
                    with open(self.path, "r+b") as handle:
                        handle.truncate(offset)
                    break
                raise PersistenceError(f"{self.path}:{number}: not a transcript line (delete the file or use "
                                       "--fresh to start over)") from None
            if line.get("run") != self.run:
                differ = sorted(k for k in set(self.run) | set(line.get("run") or {})
                                if (line.get("run") or {}).get(k) != self.run.get(k))
                raise DialogGymError(f"{self.path} holds dialogues made with other settings ({', '.join(differ)} "
                                     "differ): use --fresh to start over, or another --out")
            found[key] = line
            offset += len(raw) + 1
        if offset > 0 and not self.path.read_bytes().endswith(b"\n"):  # a whole last line without its newline
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write("\n")
        return found

    def append(self, line: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"run": self.run, **line}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def assistant_message(message: Any) -> dict[str, Any]:
    """The response's message as the chat env (and the next request) takes it: role, content and the tool
    calls, nothing a server added (reasoning text, refusals) that another server could refuse."""
    out: dict[str, Any] = {"role": "assistant", "content": message.content}
    calls = [{"id": call.id, "type": "function",
              "function": {"name": call.function.name, "arguments": call.function.arguments}}
             for call in message.tool_calls or () if getattr(call, "function", None) is not None]
    if calls:
        out["tool_calls"] = calls
    elif out["content"] is None:
        out["content"] = ""
    return out


class Runner:
    """Plays dialogues against one endpoint (see the module docstring): :meth:`run` is the entry point."""

    def __init__(self, env: EnvRef, settings: LLMSettings, log: TranscriptLog | None = None,
                 on_line: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.env = env
        self.settings = settings
        self.log = log
        self.on_line = on_line
        self.succeeded = False  # a request has succeeded: later connection errors are the dialogue's, not fatal
        self.openai = import_openai()

    def run(self, dialogues: Sequence[Dialogue]) -> list[dict[str, Any]]:
        """Play ``dialogues`` (``concurrency`` at once); their transcript lines, in the order given."""
        return asyncio.run(self._run(dialogues)) if dialogues else []

    async def _run(self, dialogues: Sequence[Dialogue]) -> list[dict[str, Any]]:
        from dialog_gym.chat import ChatEnv

        s = self.settings
        client = self.openai.AsyncOpenAI(base_url=s.base_url, api_key=api_key(), timeout=s.timeout,
                                         max_retries=s.max_retries)
        queue = list(reversed(dialogues))
        lines: dict[tuple[int, int, int], dict[str, Any]] = {}

        async def worker() -> None:
            chat = ChatEnv(self.env.make())
            try:
                while queue:
                    dialogue = queue.pop()
                    line = await self.play(client, chat, dialogue)
                    if self.log is not None:
                        self.log.append(line)
                    if self.on_line is not None:
                        self.on_line(line)
                    lines[dialogue.key] = line
            finally:
                chat.close()

        tasks = [asyncio.ensure_future(worker()) for _ in range(min(s.concurrency, len(dialogues)))]
        try:
            await asyncio.gather(*tasks)
        finally:  # an endpoint error or Ctrl-C: stop the other dialogues' requests too
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.close()
        return [lines[d.key] for d in dialogues]

    async def play(self, client: openai.AsyncOpenAI, chat: ChatEnv, dialogue: Dialogue) -> dict[str, Any]:
        """One dialogue: its transcript line (with ``error`` set if a request failed for good)."""
        from dialog_gym.seeds import model_request_seed

        s = self.settings
        _, info = chat.reset(seed=dialogue.reset_seed)
        extra: dict[str, Any] = {}
        if s.temperature is not None:
            extra["temperature"] = s.temperature
        if s.model_seed is not None:
            extra["seed"] = model_request_seed(s.model_seed, dialogue.reset_seed, dialogue.trial)
        prompt = completion = requests = 0
        waited = 0.0
        calls: list[dict[str, Any]] = []
        total, invalid, tool_errors = 0.0, 0, 0
        terminated = truncated = False
        error: str | None = None
        while not (terminated or truncated):
            start = time.perf_counter()
            try:
                response = await client.chat.completions.create(
                    model=s.model, messages=cast(Any, chat.messages), tools=cast(Any, chat.tools), **extra)
            except self.openai.APIError as exc:
                waited += time.perf_counter() - start
                error = self.failure(exc)
                break
            waited += time.perf_counter() - start
            requests += 1
            self.succeeded = True
            if response.usage is not None:
                prompt += response.usage.prompt_tokens
                completion += response.usage.completion_tokens
            if not response.choices:
                error = "the endpoint answered without a message (no choices)"
                break
            message = assistant_message(response.choices[0].message)
            _, reward, terminated, truncated, info = chat.step(message)
            total += reward
            invalid += bool(info.get("invalid_action", False))
            tool_errors += info.get("tool_error") is not None
            for call in message.get("tool_calls") or [None]:
                calls.append({"turn": int(info["turn"]), "name": call and call["function"]["name"],
                              "arguments": call and call["function"]["arguments"],
                              "tool_error": info.get("tool_error")})
        result = EpisodeResult(
            success=bool(info.get("success", False)), reward=total, turns=int(info.get("turn", 0)),
            steps=int(info.get("steps", 0)), bot_actions=int(info.get("bot_actions", 0)), invalid_actions=invalid,
            gave_up=bool(info.get("user_gave_up", False)), truncated=bool(truncated))
        return {"seed": dialogue.seed, "index": dialogue.index, "reset_seed": dialogue.reset_seed,
                "trial": dialogue.trial, "error": error, **result.as_dict(), "tool_errors": tool_errors,
                "tokens": {"prompt": prompt, "completion": completion}, "requests": requests,
                "seconds": round(waited, 4), "tool_calls": calls, "messages": chat.messages}

    def failure(self, exc: Exception) -> str:
        """What a failed request means: the dialogue's error (returned, one line) or the run's end (raised)."""
        o = self.openai
        s = self.settings
        detail = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
        if isinstance(exc, (o.AuthenticationError, o.PermissionDeniedError)):
            raise EndpointError(f"{s.base_url} refused the API key (HTTP {exc.status_code}: {detail}); set "
                                f"OPENAI_API_KEY to a key it accepts{self._key_hint()}")
        if isinstance(exc, o.NotFoundError):
            raise EndpointError(f"{s.base_url} has no model {s.model!r} (HTTP 404: {detail}); name one it serves "
                                f"(GET {s.base_url}/models lists them) or check --base-url (it ends in /v1)")
        if isinstance(exc, o.APITimeoutError):
            return f"timeout: no answer within {s.timeout:g} s ({s.max_retries} retries)"
        if isinstance(exc, o.APIConnectionError):
            reason = connection_reason(exc)
            if not self.succeeded:
                raise EndpointError(f"cannot reach {s.base_url} ({reason}): is the server running, and is "
                                    "--base-url (or OPENAI_BASE_URL) right?")
            return f"connection failed after {s.max_retries} retries: {reason}"
        if isinstance(exc, o.APIStatusError):
            if isinstance(exc, o.BadRequestError) and not self.succeeded:
                raise EndpointError(f"{s.base_url} refused the request for model {s.model!r} (HTTP 400: {detail}); "
                                    "does the server support tool calls (see docs/chat.md)?")
            retried = f" after {s.max_retries} retries" if exc.status_code == 429 or exc.status_code >= 500 else ""
            return f"HTTP {exc.status_code}{retried}: {detail}"
        return f"{type(exc).__name__}: {detail}"

    @staticmethod
    def _key_hint() -> str:
        return "" if os.environ.get("OPENAI_API_KEY") else " (OPENAI_API_KEY is not set)"


def connection_reason(exc: BaseException) -> str:
    """Why a connection failed, from the innermost cause (the client wraps it several times)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    root = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        root = current
        current = current.__cause__ or current.__context__
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    return " ".join(str(root).split()) or type(root).__name__


def episode_result(line: dict[str, Any]) -> EpisodeResult:
    """The :class:`EpisodeResult` a transcript line records."""
    return EpisodeResult(**{k: line[k] for k in EpisodeResult.__dataclass_fields__})


def summarize_lines(lines: Sequence[dict[str, Any]], seeds: Sequence[int], trials: int) -> dict[str, Any]:
    """The table's numbers from a run's transcript lines: :func:`dialog_gym.metrics.summarize_seeds` of the
    finished dialogues (the numbers of ``rollout``; with several trials the success interval is pass^1's
    bootstrap over customers instead of Wilson's over dialogues, which are not independent then), pass^k for
    k = 1..``trials`` (:func:`agents.passk.pass_k`), errors, bad tool calls, tokens and seconds."""
    from agents.passk import pass_k
    from dialog_gym.metrics import summarize_seeds

    finished = [line for line in lines if line["error"] is None]
    per_seed = [[episode_result(line) for line in finished if line["seed"] == seed] for seed in seeds]
    outcomes: dict[tuple[int, int], list[bool]] = {}
    for line in finished:
        outcomes.setdefault((line["seed"], line["index"]), []).append(bool(line["success"]))
    summary: dict[str, Any] = {"dialogues": len(lines), "finished": len(finished), "errors": len(lines) - len(finished),
                               "customers": len({(line["seed"], line["index"]) for line in lines}), "trials": trials}
    if all(per_seed):
        summary.update(summarize_seeds(per_seed))
        summary["success_interval"] = "wilson over dialogues" if trials == 1 else "bootstrap over customers"
    elif finished:  # a seed without a finished dialogue: pooled numbers only
        from dialog_gym.metrics import summarize

        summary.update(summarize([episode_result(line) for line in finished]))
        summary["success_interval"] = "wilson over dialogues"
    else:
        summary.update(episodes=0, success_rate=None, success_ci95=None, mean_turns=None, mean_reward=None,
                       mean_bot_actions=None)
    summary["pass_k"] = pass_k(outcomes, trials)
    if trials > 1 and finished:
        summary["success_ci95"] = summary["pass_k"]["1"]["ci95"]
        summary["success_interval"] = "bootstrap over customers"
    summary["tool_errors"] = sum(line["tool_errors"] for line in lines)
    summary["error_messages"] = sorted({line["error"] for line in lines if line["error"] is not None})[:10]
    summary["tokens"] = {"prompt": sum(line["tokens"]["prompt"] for line in lines),
                         "completion": sum(line["tokens"]["completion"] for line in lines)}
    summary["requests"] = sum(line["requests"] for line in lines)
    summary["mean_seconds_per_request"] = (sum(line["seconds"] for line in lines) / summary["requests"]
                                           if summary["requests"] else None)
    return summary


def run_settings(env: EnvRef, settings: LLMSettings, seeds: Sequence[int], stream_name: str) -> dict[str, Any]:
    """What a transcript line records as its origin (a rerun with the same is resumed)."""
    from dialog_gym import __version__

    return {"env": env.to_json(), **settings.identity(), "seeds": stream_name, "dialog_gym": __version__}


def play_dialogues(env: EnvRef, settings: LLMSettings, dialogues: Sequence[Dialogue], out: str | os.PathLike,
                   run: dict[str, Any], fresh: bool = False, note: Callable[[str], None] | None = None,
                   on_line: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Play the ``dialogues`` not already finished in ``out/transcripts.jsonl`` (resuming; ``fresh``: start
    over) and return every dialogue's line, in the order given (``on_line`` is told of each as it ends). One
    process per folder at a time."""
    from dialog_gym.utils import exclusive_folder

    Path(out).mkdir(parents=True, exist_ok=True)
    log = TranscriptLog(out, run)
    with exclusive_folder(out, "language-model run"):
        earlier = log.open(fresh)
        done = {key: line for key, line in earlier.items() if line["error"] is None}
        todo = [d for d in dialogues if d.key not in done]
        if note is not None and len(todo) < len(dialogues):
            retried = sum(d.key in earlier for d in todo)
            note(f"resuming: {len(dialogues) - len(todo)} of {len(dialogues)} dialogues already in "
                 f"{log.path}{f', {retried} that ended in an error played again' if retried else ''} "
                 "(--fresh starts over)")
        played = {tuple(line[k] for k in ("seed", "index", "trial")): line
                  for line in Runner(env, settings, log, on_line).run(todo)}
    return [played.get(d.key) or done[d.key] for d in dialogues]


def settings_json(settings: LLMSettings) -> dict[str, Any]:
    """All of ``settings`` as JSON (the summary's record)."""
    return asdict(settings)


__all__ = ["LLM_PREFIX", "Dialogue", "EndpointError", "LLMSettings", "Runner", "TranscriptLog", "api_key",
           "assistant_message", "episode_result", "is_llm_agent", "model_of", "plan_dialogues", "play_dialogues",
           "resolve_base_url", "run_settings", "settings_json", "summarize_lines"]
