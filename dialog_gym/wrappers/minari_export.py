"""Export of a correction session as a Minari dataset (offline RL / imitation); needs the ``minari``
extra (``pip install 'dialog-gym[minari]'``, which brings h5py).

One Minari episode per dialogue: the observations before each step and after the last one, the
executed actions, the rewards, and ``terminations``/``truncations`` (an abandoned or unfinished
dialogue ends truncated). ``infos`` carry the teacher's action (``teacher_action``), the learner's
proposal (``proposal``) and whether the step was a correction (``corrected``), with a first entry
for the reset (-1, -1, False), as Minari keeps one info per observation.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from dialog_gym.errors import DialogGymError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dialog_gym.wrappers.correction import StepRecord


_DATASET_ID = re.compile(r"^(?:[\w.-]+/)*[\w.-]+-v\d+$")


def check_dataset_id(dataset_id: str) -> None:
    """Minari's form of a dataset id: ``[namespace/]name-vN``."""
    if not _DATASET_ID.match(dataset_id):
        raise DialogGymError(f"bad Minari dataset id {dataset_id!r}: expected [namespace/]name-vN, "
                             f"e.g. dialog_gym/restaurant-corrections-v0")


@contextmanager
def _datasets_path(path: str | os.PathLike | None) -> Iterator[None]:
    if path is None:
        yield
        return
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(path).resolve())
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def export_minari(records: Sequence[StepRecord], env: gym.Env, dataset_id: str,
                  data_path: str | os.PathLike | None = None, **metadata: Any) -> Path:
    """Create the Minari dataset ``dataset_id`` (e.g. ``"dialog_gym/restaurant-corrections-v0"``) from
    the recorded steps, under ``data_path`` (default: Minari's own folder); returns the dataset folder."""
    check_dataset_id(dataset_id)
    try:
        import minari
        from minari.data_collector import EpisodeBuffer
    except ImportError:
        raise DialogGymError("Minari export needs the minari extra: pip install 'dialog-gym[minari]'") from None
    by_dialogue: dict[int, list[StepRecord]] = {}
    for record in records:
        by_dialogue.setdefault(record.dialogue, []).append(record)
    if not by_dialogue:
        raise DialogGymError("nothing to export: the session has no confirmed step")
    buffers = []
    for index, steps in sorted(by_dialogue.items()):
        last = steps[-1]
        final_obs = last.next_observation if last.next_observation is not None else last.observation
        truncations = [bool(s.truncated) for s in steps]
        if not (last.terminated or last.truncated):
            truncations[-1] = True  # abandoned (reset) or still under way
        buffers.append(EpisodeBuffer(
            id=index, observations=[np.asarray(s.observation) for s in steps] + [np.asarray(final_obs)],
            actions=[int(s.action) for s in steps], rewards=[float(s.reward) for s in steps],
            terminations=[bool(s.terminated) for s in steps], truncations=truncations,
            infos={"teacher_action": np.array([-1] + [s.label for s in steps]),
                   "proposal": np.array([-1] + [s.proposal for s in steps]),
                   "corrected": np.array([False] + [s.corrected for s in steps])}))
    spec = env.spec if env.spec is not None else None
    with _datasets_path(data_path), warnings.catch_warnings():
        # Minari recommends an author, an e-mail and a code permalink for published data sets
        warnings.filterwarnings("ignore", message=r"`(author|author_email|code_permalink)` is set to None",
                                category=UserWarning)
        try:
            dataset = minari.create_dataset_from_buffers(
                dataset_id, buffers, env=spec or env.unwrapped, eval_env=spec or env.unwrapped,
                algorithm_name="human-in-the-loop correction (dialog_gym.wrappers)",
                description="Dialogues of a dialog_gym correction session: executed actions, and in infos the "
                            "teacher's action, the learner's proposal and whether it was corrected.", **metadata)
        except ValueError as exc:  # e.g. the dataset exists already (Minari never overwrites one)
            raise DialogGymError(f"Minari: {exc}") from None
        folder = Path(dataset.spec.data_path).parent
    return folder
