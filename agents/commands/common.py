"""Argument types, the parser class and output formatting shared by the subcommands.

The error contract of the ``dialog-gym`` command lives here and in ``agents/cli.py``: a mistake in how the
command was called (an unknown option or environment, a negative count, options that do not go together,
a hyperparameter value of the wrong type) is a :class:`UsageError` and exits with status 2; bad data (a
missing, unreadable or malformed file) is the package's :class:`~dialog_gym.errors.DialogGymError` and
exits with 1; Ctrl-C exits with 130. Each prints one line on stderr, and under ``--json`` also a JSON
object ``{"error": ..., "exit_status": ...}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.tables import format_table  # noqa: F401  (the commands import it from here)
from dialog_gym.envs import EnvRef
from dialog_gym.errors import DialogGymError

#: what a user gets when they name no environment (dialog_gym.envs.DEFAULT_ENV_ID, as typed)
DEFAULT_ENV = "Restaurant-v0"


class UsageError(DialogGymError):
    """The command was called wrongly (exit status 2, as argparse's own usage errors). ``prog`` names the
    (sub)command whose parser found the mistake, when it is not the one being run."""

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, keeps the description's line breaks out of the way."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "%(default)" in text or "default:" in text or "default " in text:
            return text
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS:
            return text
        if not action.option_strings:
            return text
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise :class:`UsageError` (one error path for every command)
    and whose help shows defaults; subcommand parsers inherit both."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, prog=self.prog)


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None


#: upper bounds of the counts the commands take: far beyond any useful run, yet a slip of the finger
#: (``--dialogues 99999999999999999999999``) is refused at once instead of running for ever. Dialogues
#: (training, evaluation, simulated): 10^7, a week of training on the shipped tasks; steps and other counts
#: (seeds, repeats, epochs): 10^9.
MAX_DIALOGUES = 10**7
MAX_COUNT = 10**9


def _count(text: str, minimum: int, maximum: int, noun: str = "") -> int:
    value = _number(text, int)
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}" if minimum == 1
                                         else f"expected an integer >= {minimum}, got {value}")
    if value > maximum:
        raise argparse.ArgumentTypeError(f"expected at most {maximum:,}{f' {noun}' if noun else ''}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer in [1, :data:`MAX_COUNT`]."""
    return _count(text, 1, MAX_COUNT)


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer in [0, :data:`MAX_COUNT`]."""
    return _count(text, 0, MAX_COUNT)


def dialogue_count(text: str) -> int:
    """An argparse type: a number of dialogues (episodes), in [1, :data:`MAX_DIALOGUES`]."""
    return _count(text, 1, MAX_DIALOGUES, "dialogues")


def step_count(text: str) -> int:
    """An argparse type: a number of environment steps, in [1, :data:`MAX_COUNT`]."""
    return _count(text, 1, MAX_COUNT, "steps")


def port(text: str) -> int:
    """An argparse type: a TCP port, in [0, 65535] (0: any free port)."""
    value = _number(text, int)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port in [0, 65535], got {value}")
    return value


def run_seed(text: str) -> int:
    """An argparse type: a run seed, ``0 <= seed < dialog_gym.seeds.RUN_SEEDS`` (the seeds whose streams of
    reset seeds are proven disjoint)."""
    from dialog_gym.seeds import RUN_SEEDS

    value = _number(text, int)
    if not 0 <= value < RUN_SEEDS:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {RUN_SEEDS - 1}, got {value}")
    return value


def check_seed_range(first: int, count: int, option: str) -> None:
    """``count`` run seeds from ``first`` must all be run seeds (one line naming ``option`` otherwise)."""
    from dialog_gym.seeds import RUN_SEEDS

    if first + count > RUN_SEEDS:
        raise UsageError(f"{option}: seeds {first} to {first + count - 1} go past the last seed, {RUN_SEEDS - 1}")


def probability(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def env_arg(text: str) -> EnvRef:
    """An argparse type for ``--env``: everything :meth:`EnvRef.parse` accepts (an id, a short id, an env
    config's path or shipped name, with ``:VARIANT``); anything else is a usage error."""
    import dialog_gym  # noqa: F401  (registers the ids)

    try:
        return EnvRef.parse(text)
    except DialogGymError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def env_list(text: str) -> list[EnvRef]:
    """An argparse type: comma-separated environments (each as ``--env`` takes it)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more environments, comma-separated")
    return [env_arg(n) for n in names]


def check_readable(path: str | Path, what: str, folder_ok: bool = False) -> None:
    """Raise the package's error, naming ``path``, if it is missing, unreadable or not UTF-8 text (a
    folder is accepted with ``folder_ok``: its files are checked by their reader)."""
    path = Path(path)
    if path.is_dir():
        if folder_ok:
            return
        raise DialogGymError(f"{path}: is a folder, expected {what}")
    try:
        path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DialogGymError(f"{path}: file not found (expected {what})") from None
    except UnicodeDecodeError as exc:
        raise DialogGymError(f"{path}: not UTF-8 text (byte {exc.start}); expected {what}") from None
    except OSError as exc:
        raise DialogGymError(f"{path}: cannot read ({exc.strerror or exc}); expected {what}") from None


def check_domain_arg(name: str | None) -> None:
    """``--domain``: a shipped domain's name, or a readable YAML file."""
    if name is not None and (Path(name).suffix in (".yml", ".yaml") or Path(name).exists()):
        check_readable(name, "a domain YAML file")


def check_output(path: str | Path, option: str, folder: bool) -> None:
    """Refuse, before any work, an output path the command could not write: a folder where a file is
    expected, a file where a folder is, or a parent that is a file."""
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise DialogGymError(f"{path}: exists and is not a folder ({option} names an output folder)")
    if not folder and path.is_dir():
        raise DialogGymError(f"{path}: is a folder ({option} names an output file)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DialogGymError(f"{parent}: is a file, so {path} cannot be written ({option})")
            break


def check_story_count(graph: Any, path: str | Path) -> None:
    """A story file without any story is an error (it would train or test on nothing)."""
    from dialog_gym.errors import StoryError

    if graph.stats()["stories"] == 0:
        raise StoryError("no story in it (a story starts with a line '## name')", path=str(path))


def saved_env(folder: str | Path) -> tuple[str, dict[str, Any], Path] | None:
    """The environment a saved model was trained on, from its ``agent.json`` (an SB3 run or model folder)
    or ``policy.json`` (a Rasa policy saved by ``train-policy``): ``(id, kwargs, file)``, or None if the
    folder records none (or is not a saved model: loading it reports that)."""
    folder = Path(folder)
    for path in (folder / "agent.json", folder / "best" / "agent.json", folder / "final" / "agent.json",
                 folder / "policy.json"):
        if path.is_file():
            try:
                meta = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                return None
            env = meta.get("env") if path.name == "policy.json" else meta
            if isinstance(env, dict) and isinstance(env.get("env_id"), str):
                return env["env_id"], dict(env.get("env_kwargs") or {}), path
            return None
    return None


def record_env(folder: str | Path, env: EnvRef) -> None:
    """Add the training environment to a saved policy's ``policy.json`` (so ``rollout`` can default to it)."""
    from dialog_gym.utils import read_json, write_json

    path = Path(folder) / "policy.json"
    meta = read_json(path)
    meta["env"] = {"env_id": env.id, "env_kwargs": env.kwargs}
    write_json(path, meta)


class StageBar:
    """A progress bar over the named stages of a slow command, refreshed every half second (so its clock
    runs while a stage works), on stderr when it is a terminal; ``enabled=False`` shows nothing."""

    def __init__(self, stages: Sequence[str], enabled: bool = True) -> None:
        import threading

        from tqdm.auto import tqdm

        enabled = enabled and sys.stderr.isatty()  # a log file gets no carriage-return animation
        self.stages = list(stages)
        self.bar = tqdm(total=len(self.stages), desc=self.stages[0] if self.stages else "", disable=not enabled,
                        leave=False, file=sys.stderr, bar_format="{desc}: stage {n_fmt}/{total_fmt} [{elapsed}]")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True) if enabled else None
        if self._thread is not None:
            self._thread.start()

    def _tick(self) -> None:
        while not self._done.wait(0.5):
            self.bar.refresh()

    def next(self, desc: str | None = None) -> None:
        """The current stage is done; ``desc`` describes the next one (default: its name)."""
        self.bar.update()
        index = min(self.bar.n, len(self.stages) - 1)
        self.bar.set_description(desc or self.stages[index])

    def close(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.bar.close()


def masks_note(algo: str, env: EnvRef) -> str | None:
    """Why a masked algorithm will learn as its plain version, when the environment's masks are off."""
    from agents.rl import MASKED_ALGORITHMS, UNMASKED

    if algo not in MASKED_ALGORITHMS:
        return None
    from dialog_gym.envs import dialogue_env_of

    gym_env = env.make()
    try:
        if dialogue_env_of(gym_env).masks_enabled:
            return None
        # masks off may still forbid something (PyDial's masks-off settings keep `bye` masked until the
        # user's bye): then the masked algorithm differs from plain PPO
        _, info = gym_env.reset(seed=0)
        if not all(info["action_mask"]):
            return None
    finally:
        gym_env.close()
    return (f"{env} has action masks off (its mask allows every action), so {algo} trains as plain {UNMASKED[algo]}: "
            "nothing steers it away from senseless actions (on the shipped tasks it stays near 0% within "
            "thousands of dialogues); use an id with masks on or a warm start")


def note(message: str) -> None:
    """A one-line remark on stderr (stdout stays the command's result, also under ``--json``)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=None, default=_default)
    sys.stdout.write("\n")


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def pct(rate: float, ci: Sequence[float] | None = None) -> str:
    text = f"{100 * rate:.1f}%"
    if ci is not None:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text
