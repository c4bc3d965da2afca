"""Argument helpers and output formatting shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from agents.tables import format_table  # noqa: F401  (the commands import it from here)
from dialog_gym.errors import DialogGymError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def env_id(text: str) -> str:
    """An environment id; a bare name gets the ``dialog_gym/`` namespace."""
    import gymnasium as gym

    import dialog_gym  # noqa: F401  (registers the ids)

    candidate = text if "/" in text or text in gym.registry else f"dialog_gym/{text}"
    if candidate not in gym.registry:
        known = ", ".join(sorted(i for i in gym.registry if i.startswith("dialog_gym/")))
        raise argparse.ArgumentTypeError(f"unknown environment {text!r} (dialog_gym ids: {known})")
    return candidate


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=None, default=_default)
    sys.stdout.write("\n")


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def pct(rate: float, ci: Sequence[float] | None = None) -> str:
    text = f"{100 * rate:.1f}%"
    if ci is not None:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text


def require(condition: bool, message: str) -> None:
    if not condition:
        raise DialogGymError(message)
