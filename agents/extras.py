"""The optional extras of the ``dialog-gym`` package and the one message for a missing one.

``pip install dialog-gym`` installs the environments only (gymnasium, numpy, pyyaml): ``import dialog_gym``,
every registered id, the rule experts, ``dialog-gym envs``, ``rollout`` of the rule and random agents and
the other commands that need no learner work without any extra. Learners, the benchmark and plots come
with an extra (``pip install 'dialog-gym[rl]'`` ...); a command that needs a missing one says which, in one
line, and exits with status 1 (an environment problem, not a usage error).

:data:`EXTRAS` mirrors ``[project.optional-dependencies]`` of ``pyproject.toml`` (a test keeps them equal).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

# the exception and its message live in dialog_gym.errors (dialog_gym's own integrations raise them too)
from dialog_gym.errors import MissingExtra, install_hint, missing_message

#: each extra -> the modules it provides (import names); the test tools of ``dev`` are left out
EXTRAS: dict[str, tuple[str, ...]] = {
    "rl": ("torch", "stable_baselines3", "sb3_contrib", "tqdm", "threadpoolctl"),
    "plots": ("matplotlib",),
    "ray": ("ray", "optuna"),
    "web": ("starlette", "uvicorn"),
    "minari": ("minari",),
    "tensorboard": ("tensorboard",),
    "openai": ("openai",),
    "verifiers": ("verifiers",),
}


def extra_of(module: str | None) -> str | None:
    """The extra that provides ``module`` (a dotted import name), or None if none does."""
    top = (module or "").partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def require(extras: Iterable[str], what: str) -> None:
    """Raise :class:`MissingExtra` naming the first of ``extras`` with a module that is not installed."""
    for extra in extras:
        for module in EXTRAS[extra]:
            if not installed(module):
                raise MissingExtra(missing_message(what, extra, module))


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra_error(exc: ImportError, what: str) -> MissingExtra | None:
    """The :class:`MissingExtra` behind ``exc`` (an import of an extra's module failed), or None if ``exc``
    is about a module no extra provides (a bug, reported as such)."""
    extra = extra_of(exc.name) if isinstance(exc, ModuleNotFoundError) else None
    if extra is None or exc.name is None:
        return None
    return MissingExtra(missing_message(what, extra, exc.name.partition(".")[0]))


__all__ = ["EXTRAS", "MissingExtra", "extra_of", "install_hint", "installed", "missing_extra_error",
           "missing_message", "require"]
