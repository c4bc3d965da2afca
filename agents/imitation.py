"""Imitation learning with a correcting teacher: the learners a session starts from, and learning curves.

:func:`make_learner` builds the learner of the seed tutorial's two starts: ``"scratch"`` (nothing
learned yet; or ``scratch_dialogues`` expert dialogues) and ``"pretrained"`` (trained on the rule
expert's simulated dialogues, which the package generates itself, or on a stories file such as the
bAbI stories). :func:`learning_curve` runs N corrected dialogues with a teacher and, after each,
evaluates the learner alone on fresh seeded dialogues (``dialog-gym imitate``); its ``mode="bc"``
is the baseline without corrections: plain behaviour cloning of the teacher's own rollouts.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import dialog_gym  # noqa: F401  (registers the environments)
from agents.learners import SB3Learner, SupervisedLearner
from dialog_gym.agent import Agent, greedy_allowed
from dialog_gym.envs import DEFAULT_ENV_ID, EnvLike, EnvRef, dialogue_env_of
from dialog_gym.errors import DialogGymError
from dialog_gym.seeds import dialogue_seed, expert_dialogue_seed
from dialog_gym.wrappers import CorrectionSession, HumanCorrectionWrapper, Learner, ScriptedTeacher

STARTS = ("scratch", "pretrained")
LEARNERS = ("supervised", "sb3")
#: the benchmark agent whose model each learner is (its colour in the plots)
LEARNER_AGENTS = {"supervised": "supervised", "sb3": "maskable_ppo"}
MODES = ("correct", "bc")
#: expert dialogues the "pretrained" start is trained on (when no stories file is named)
PRETRAIN_DIALOGUES = 100
#: supervised policy settings of the learners: Rasa's default history, epochs enough for 100 dialogues
MAX_HISTORY = 5
PRETRAIN_EPOCHS = 200


def _check_start(start: str, stories: str | os.PathLike | None, learner: str) -> None:
    if start not in STARTS:
        raise DialogGymError(f"unknown start {start!r}: expected one of {', '.join(STARTS)}")
    if learner not in LEARNERS:
        raise DialogGymError(f"unknown learner {learner!r}: expected one of {', '.join(LEARNERS)}")
    if stories is not None:
        if start != "pretrained":
            raise DialogGymError("a stories file is only used with start 'pretrained'")
        if not Path(stories).exists():
            raise DialogGymError(f"{stories}: no such stories file")


def make_learner(start: str, stories: str | os.PathLike | None = None, seed: int = 0,
                 env_id: EnvLike = DEFAULT_ENV_ID, learner: str = "supervised", scratch_dialogues: int = 0,
                 pretrain_dialogues: int = PRETRAIN_DIALOGUES) -> Learner:
    """The learner a correction session starts from.

    ``start="scratch"``: an untrained learner (it proposes the first allowed action until its first
    retraining), or one trained on ``scratch_dialogues`` expert dialogues. ``start="pretrained"``: trained
    on ``pretrain_dialogues`` of the rule expert's simulated dialogues (generated here: run seed ``seed`` of
    the expert-dialogue stream, which the evaluation and session streams never meet), or on the Rasa
    stories file ``stories``. ``learner`` is ``"supervised"`` (the Rasa-style network,
    :class:`~agents.learners.SupervisedLearner`) or ``"sb3"`` (a MaskablePPO policy network trained by
    behaviour cloning, :class:`~agents.learners.SB3Learner`). Deterministic under ``seed``. ``env_id``: the
    environment, by id or :class:`~dialog_gym.envs.EnvRef`.
    """
    _check_start(start, stories, learner)
    if scratch_dialogues < 0:
        raise DialogGymError(f"scratch_dialogues must be >= 0, got {scratch_dialogues}")
    ref = EnvRef.of(env_id)
    env = ref.make()
    domain = dialogue_env_of(env).domain
    n_expert = scratch_dialogues if start == "scratch" else (0 if stories is not None else pretrain_dialogues)
    if learner == "supervised":
        from agents.policy import check_policy_env
        from agents.policy_training import TrainingOptions, build_policy, expert_story_graph, story_trackers

        check_policy_env(env)  # a Rasa-style network predicts the domain's actions (not e.g. summary acts)

        policy = build_policy("supervised", TrainingOptions(max_history=MAX_HISTORY, epochs=PRETRAIN_EPOCHS,
                                                            seed=seed))
        result = SupervisedLearner(policy, domain)  # type: ignore[arg-type]
        if stories is not None:
            trackers = story_trackers(stories, domain, augmentation=0, seed=42 + seed)
            policy.train(trackers, domain)
            result.source = f"pretrained on {stories}"
        elif n_expert:
            graph, _ = expert_story_graph(n_expert, seed=seed, env_id=ref.id, **ref.kwargs)
            policy.train(story_trackers(graph, domain, augmentation=0, seed=42 + seed), domain)
            result.source = f"{start}: {n_expert} expert dialogues (seed {seed})"
        env.close()
        return result
    from agents.hyperparams import load_hyperparams
    from agents.rl import build_model, make_vec_env
    from agents.warm_start import behaviour_clone, expert_demonstrations, story_demonstrations

    hp = load_hyperparams("maskable_ppo", ref.id)
    model = build_model("maskable_ppo", make_vec_env(ref.id, 1, seed, ref.kwargs), hp, seed)
    sb3 = SB3Learner(model, seed=seed)
    if stories is not None:
        behaviour_clone(model, story_demonstrations(stories, ref.id, env_kwargs=ref.kwargs), epochs=30,
                        value_pretraining=False, seed=seed)
        sb3.source = f"pretrained on {stories}"
    elif n_expert:
        demos = expert_demonstrations(ref.id, n_expert, seed=seed, stream=expert_dialogue_seed, env_kwargs=ref.kwargs)
        behaviour_clone(model, demos, epochs=30, value_pretraining=False, seed=seed)
        sb3.source = f"{start}: {n_expert} expert dialogues (seed {seed})"
    env.close()
    return sb3


def learner_agent(learner: Learner) -> Callable[[gym.Env], Agent]:
    """An agent factory for :func:`agents.evaluation_sim.evaluate_agent`: the learner alone, greedy
    among the allowed actions."""

    def act(obs: np.ndarray, info: Mapping[str, Any]) -> int:
        mask = np.asarray(info["action_mask"], np.int8)
        return greedy_allowed(learner.action_probabilities(obs, info), mask)

    return lambda env: act


def evaluate_learner(learner: Learner, env_id: EnvLike, episodes: int, seed: int) -> dict[str, Any]:
    """The learner alone on ``episodes`` fresh seeded dialogues (the evaluation stream's seed ``seed``; the
    learner's training dialogues come from the expert-dialogue and correction-session streams)."""
    from agents.evaluation_sim import evaluate_agent

    return evaluate_agent(learner_agent(learner), env_id, episodes=episodes, seeds=(seed,))


def learning_curve(start: str = "scratch", dialogues: int = 20, seed: int = 0, eval_episodes: int = 100,
                   stories: str | os.PathLike | None = None, learner: str = "supervised", beta: float = 1.0,
                   mode: str = "correct", env_id: EnvLike = DEFAULT_ENV_ID, error_rate: float = 0.0,
                   out: str | os.PathLike | None = None, minari_id: str | None = None,
                   progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Success of the learner alone after 0, 1, ..., ``dialogues`` teacher dialogues.

    ``mode="correct"``: a :class:`~dialog_gym.wrappers.CorrectionSession` with the scripted teacher (the
    rule expert, ``error_rate``): the learner proposes, the teacher corrects, the learner is retrained
    after each dialogue (logged to ``out/session.jsonl`` when ``out`` is given; with ``minari_id`` the
    session is also written as that Minari dataset under ``out/minari``). ``mode="bc"``: the
    teacher plays the same dialogues alone and the start learner is trained on all of them at once
    (plain behaviour cloning); the learner's would-be proposals are still compared with the teacher's
    actions, so "corrections" counts the same thing in both modes: the steps where the learner would
    have been wrong.
    """
    if int(dialogues) < 1:
        raise DialogGymError(f"dialogues must be >= 1, got {dialogues}")
    if int(eval_episodes) < 1:
        raise DialogGymError(f"eval episodes must be >= 1, got {eval_episodes}")
    if not 0.0 <= float(beta) <= 1.0:
        raise DialogGymError(f"beta must be in [0, 1], got {beta}")
    if mode not in MODES:
        raise DialogGymError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
    if minari_id is not None:
        from dialog_gym.wrappers.minari_export import check_dataset_id

        if mode != "correct":
            raise DialogGymError("a Minari dataset is written from the correction session (mode 'correct')")
        check_dataset_id(minari_id)
        if out is not None and (Path(out) / "minari" / minari_id).exists():
            raise DialogGymError(f"{Path(out) / 'minari' / minari_id}: the Minari dataset exists already")
    if not 0.0 <= float(error_rate) <= 1.0:
        raise DialogGymError(f"error rate must be in [0, 1], got {error_rate}")
    _check_start(start, stories, learner)
    started = time.perf_counter()
    ref = EnvRef.of(env_id)
    start_learner = make_learner(start, stories, seed=seed, env_id=ref, learner=learner)
    env = ref.make()
    teacher = ScriptedTeacher(env, error_rate=error_rate, seed=seed)
    points: list[dict[str, Any]] = []

    def point(k: int, current: Learner, corrections: int | None, success: bool | None) -> None:
        summary = evaluate_learner(current, ref, eval_episodes, seed)
        entry = {"dialogues": k, "success_rate": float(summary["success_rate"]), "corrections": corrections,
                 "teacher_success": success, "ci95": summary.get("success_ci95"),
                 "mean_reward": summary.get("mean_reward"), "seconds": round(time.perf_counter() - started, 1)}
        points.append(entry)
        if progress is not None:
            progress(entry)

    point(0, start_learner, None, None)
    if mode == "correct":
        log_path = Path(out) / "session.jsonl" if out is not None else None
        if log_path is not None and log_path.exists():
            log_path.unlink()  # a curve is one fresh session
        session = CorrectionSession(env, start_learner, teacher, log_path=log_path, beta=beta, seed=seed)
        for k in range(1, int(dialogues) + 1):
            summary = session.run(k)
            point(k, start_learner, summary.corrections_per_dialogue[-1], summary.success_per_dialogue[-1])
        total_corrections = session.summary().corrections
        if minari_id is not None:
            session.export_minari(minari_id, Path(out) / "minari" if out is not None else None)
    else:
        # the teacher drives (beta = 1, no learner): the same dialogues and seeds as the correction mode
        wrapper = HumanCorrectionWrapper(env, None, teacher, beta=1.0, seed=seed)
        previous = start_learner
        for k in range(1, int(dialogues) + 1):
            wrapper.reset()
            while wrapper.active:
                wrapper.step()
            clone = copy.deepcopy(start_learner)
            clone.learn(wrapper.records, wrapper.records)
            would_be = _would_be_corrections(previous, wrapper)
            previous = clone
            point(k, clone, would_be, wrapper.outcomes[-1].success)
        total_corrections = sum(p["corrections"] for p in points[1:])
    env.close()
    return {"env": ref.label, "start": start, "stories": None if stories is None else str(stories), "learner": learner,
            "mode": mode, "beta": beta, "seed": seed, "dialogues": int(dialogues), "eval_episodes": int(eval_episodes),
            "error_rate": error_rate, "total_corrections": total_corrections,
            "seconds": round(time.perf_counter() - started, 1), "curve": points}


def _would_be_corrections(learner: Learner, wrapper: HumanCorrectionWrapper) -> int:
    """How many of the last dialogue's teacher actions ``learner`` would have got wrong (teacher-forced)."""
    count = 0
    for record in wrapper.dialogue_steps:
        info = {"action_mask": record.action_mask, "tracker": record.tracker}
        probs = learner.action_probabilities(record.observation, info)
        count += greedy_allowed(probs, record.action_mask) != record.label
    return count


def curve_figure(result: dict[str, Any]) -> Any:
    """The learning curve of :func:`learning_curve`'s ``result`` (a matplotlib ``Figure``, no pyplot state):
    success of the learner alone, in the colour and marker of the benchmark agent with its model
    (:data:`LEARNER_AGENTS`, :mod:`agents.plotting`), and the corrections per dialogue as grey bars."""
    import matplotlib.ticker
    from matplotlib.figure import Figure

    from agents.plotting import agent_styles

    curve = result["curve"]
    ks = [p["dialogues"] for p in curve]
    fig = Figure(figsize=(7.5, 3.8))
    ax = fig.subplots()
    agent = LEARNER_AGENTS[result["learner"]]
    colour, marker = agent_styles([agent])[agent]
    ax.plot(ks, [100 * p["success_rate"] for p in curve], "-", marker=marker, color=colour,
            label="learner alone: success %", zorder=3)
    ax.axhline(95, color="#555555", linestyle=":", linewidth=1.2, label="95% success (the target)")
    ax.set_xlabel("teacher dialogues" if result["mode"] == "bc" else "corrected dialogues")
    ax.set_ylabel("success % (learner alone)")
    ax.set_ylim(-3, 103)
    ax2 = ax.twinx()
    ax2.bar([p["dialogues"] for p in curve[1:]], [p["corrections"] for p in curve[1:]], color="#d9d9d9",
            label="corrections in the dialogue" if result["mode"] != "bc" else "teacher actions the learner "
                                                                             "would have got wrong")
    ax2.set_ylabel("corrections per dialogue")
    start = result["start"] + (f" ({Path(result['stories']).name})" if result.get("stories") else "")
    mode = "behaviour cloning (no corrections)" if result["mode"] == "bc" else "correction loop"
    beta = f", DAgger beta {result['beta']}" if result.get("beta", 1.0) != 1.0 else ""
    ax.set_title(f"{result['env']}: {mode}\nstart {start}, {result['learner']} learner{beta}, seed {result['seed']}, "
                 f"{result['eval_episodes']} test dialogues per point", fontsize=9)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_zorder(ax2.get_zorder() + 1)  # the curve over the bars
    ax.patch.set_visible(False)
    lines = ax.get_legend_handles_labels()
    bars = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], fontsize=8, loc="upper left", bbox_to_anchor=(1.12, 1.0),
              borderaxespad=0.0, frameon=False)
    return fig


def plot_curve(result: dict[str, Any], path: str | os.PathLike) -> None:
    """The learning curve (:func:`curve_figure`) as a PNG."""
    from dialog_gym.utils import atomic_write

    with atomic_write(path, "wb") as handle:
        curve_figure(result).savefig(handle, format="png", dpi=100, bbox_inches="tight")


__all__ = [
    "LEARNERS",
    "LEARNER_AGENTS",
    "MODES",
    "STARTS",
    "curve_figure",
    "dialogue_seed",
    "evaluate_learner",
    "learner_agent",
    "learning_curve",
    "make_learner",
    "plot_curve",
]
