"""Command-line options shared by ``rollout`` and ``benchmark`` for language-model agents (``openai:MODEL``)."""

from __future__ import annotations

import argparse

from agents.commands.common import UsageError, _number, positive_int, run_seed
from agents.llm_agent import LLMSettings, resolve_base_url


def nonnegative_float(text: str) -> float:
    """An argparse type: a number >= 0."""
    value = _number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return float(value)


def positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return float(value)


def retries(text: str) -> int:
    """An argparse type: the client's retries, 0 to 20."""
    value = _number(text, int)
    if not 0 <= value <= 20:
        raise argparse.ArgumentTypeError(f"expected 0 to 20 retries, got {value}")
    return int(value)


#: the options of :func:`add_llm_arguments` (each defaults to None: given without an openai agent, an error)
LLM_OPTIONS = ("base_url", "concurrency", "timeout", "max_retries", "temperature", "model_seed")


def add_llm_arguments(p: argparse.ArgumentParser) -> None:
    """``--base-url``, ``--concurrency``, ``--timeout``, ``--max-retries``, ``--temperature``, ``--model-seed``."""
    d = LLMSettings("")
    g = p.add_argument_group("language-model agents (openai:MODEL; pip install 'dialog-gym[openai]')")
    g.add_argument("--base-url", metavar="URL",
                   help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (vLLM), "
                        "http://127.0.0.1:8080/v1 (llama.cpp), http://127.0.0.1:11434/v1 (Ollama) (default: "
                        f"OPENAI_BASE_URL, else {d.base_url}); the key comes from OPENAI_API_KEY when set")
    g.add_argument("--concurrency", type=positive_int, metavar="N",
                   help=f"dialogues at once (the results do not depend on it) (default: {d.concurrency})")
    g.add_argument("--timeout", type=positive_float, metavar="S",
                   help=f"seconds a request may take, each retry again (default: {d.timeout:g})")
    g.add_argument("--max-retries", type=retries, metavar="R",
                   help="retries of a request that got 429, 5xx or lost its connection, with exponential backoff "
                        f"(the openai client's) (default: {d.max_retries})")
    g.add_argument("--temperature", type=nonnegative_float, metavar="T",
                   help="sampling temperature sent with each request (default: none sent, the server's)")
    g.add_argument("--model-seed", type=run_seed, metavar="SEED",
                   help="send a seed with each request, derived from SEED, the customer and the trial "
                        "(dialog_gym.seeds.model_request_seed), for servers that sample repeatably with one "
                        "(default: none sent)")


def llm_settings(args: argparse.Namespace, model: str) -> LLMSettings:
    """The :class:`~agents.llm_agent.LLMSettings` the options ask for."""
    given = {k: getattr(args, k) for k in LLM_OPTIONS if getattr(args, k) is not None}
    given["base_url"] = resolve_base_url(given.get("base_url"))
    return LLMSettings(model, **given)


def check_llm_arguments(args: argparse.Namespace, used: bool, what: str) -> None:
    """Refuse the language-model options when no language-model agent is run."""
    if not used:
        given = [f"--{k.replace('_', '-')}" for k in LLM_OPTIONS if getattr(args, k, None) is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: only with {what}")
