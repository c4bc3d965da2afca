"""Training an RL agent: budgets in timesteps or dialogues, periodic evaluation, best model, resume.

:func:`train` builds the vectorized environment and the model from the YAML hyperparameters (with
overrides), optionally warm-starts it by behaviour cloning, then alternates RL and evaluation: every
``eval_every`` training dialogues the agent is evaluated on separate seeded environments (the same
episodes each time, so evaluations compare like with like), the point is added to the learning curve
and logged to TensorBoard, the latest model is saved to ``out/final`` (the resume checkpoint) and the
best one (success rate, then reward) to ``out/best``. Ctrl-C saves the model as trained so far to
``out/final`` and writes ``train.json`` (marked ``interrupted``) before the interruption goes on: ``resume``
continues from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm

from agents.evaluation_sim import BATCH_ENVS, evaluate_agent
from agents.hyperparams import ALGORITHMS, LEARNERS, load_hyperparams, load_warm_start
from agents.rl import (
    AGENT_FILE,
    SB3Agent,
    build_model,
    load_agent,
    make_vec_env,
    read_agent_meta,
    save_agent,
    seed_training_envs,
    set_threads,
)
from agents.sb3_adapter import drive_progress, training_logger
from agents.warm_start import behaviour_clone, expert_demonstrations, story_demonstrations
from dialog_gym.errors import ConfigError, DialogGymError
from dialog_gym.seeds import benchmark_test_seed, demonstration_seed, training_env_seed, validation_seed
from dialog_gym.utils import write_json


@dataclass
class TrainSpec:
    """What to train. A budget of ``dialogues`` (training episodes) takes precedence over ``timesteps``;
    with neither, the hyperparameter file's ``n_timesteps`` applies."""

    algo: str
    env_id: str
    out: Path
    timesteps: int | None = None
    dialogues: int | None = None
    seed: int = 0
    n_envs: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    warm_start: str | None = None          # "rule" or "stories:PATH"
    warm_start_mode: str = "conservative"  # or "naive" (configs/hyperparams/warm_start.yml)
    eval_every: int = 250                  # training dialogues between evaluations
    eval_episodes: int = 100
    resume: bool = False
    progress: bool = True
    tensorboard: bool = True
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    threads: int = 1                       # torch threads (1 keeps runs reproducible and fast for small nets)
    hyperparams: str | None = None         # an rl-zoo hyperparameter file instead of configs/hyperparams/<algo>.yml
    validation: bool = False               # evaluate on the validation stream, not the benchmark's test dialogues
    #: evaluate after exactly ``eval_every`` dialogues with several envs too (:class:`_Budget`); off: after the
    #: first step that reaches it (up to ``n_envs - 1`` more: how the small benchmark's reference was made)
    exact_dialogues: bool = True


@dataclass
class TrainResult:
    out: Path
    curve: list[dict[str, Any]]
    final: dict[str, Any]
    best: dict[str, Any]
    wall_time: float
    dialogues: int
    timesteps: int
    demonstrations: int = 0
    warm_start_stats: dict[str, Any] = field(default_factory=dict)


class _Budget(BaseCallback):
    """Counts finished training dialogues, stops ``learn`` at the next evaluation point or the budget,
    and drives the progress bar.

    With several training envs, dialogues may end together at the step that reaches the evaluation point;
    :meth:`settle` counts those past the point toward the next batch (after the last batch they are not
    counted: the budget is exact), so that the evaluations come after exactly 1000, 2000, ... dialogues. An
    on-policy learner has not trained on any of them then (SB3 drops the rollout a stop interrupts)."""

    def __init__(self, bar: tqdm | None, unit: str) -> None:
        super().__init__()
        self.dialogues = 0
        self.carried = 0  # dialogues that ended with the one reaching the last stop, past it
        self.stop_dialogues: int | None = None
        self.stop_timesteps: int | None = None
        self.bar = bar
        self.unit = unit

    def _on_step(self) -> bool:
        finished = int(np.sum(self.locals.get("dones", 0)))
        self.dialogues += finished
        if self.bar is not None:
            self.bar.update(finished if self.unit == "dialogues" else self.training_env.num_envs)
        if self.stop_dialogues is not None and self.dialogues >= self.stop_dialogues:
            return False
        return not (self.stop_timesteps is not None and self.num_timesteps >= self.stop_timesteps)

    def settle(self) -> None:
        """After ``learn`` stopped at ``stop_dialogues``: count the dialogues past it as the next batch's."""
        if self.stop_dialogues is not None and self.dialogues > self.stop_dialogues:
            self.carried = self.dialogues - self.stop_dialogues
            self.dialogues = self.stop_dialogues

    def resume(self) -> None:
        """Before the next ``learn``: the carried dialogues count again."""
        self.dialogues += self.carried
        self.carried = 0


def checkpoint(save: Callable[[Path, dict[str, Any]], Any], out: Path, meta: dict[str, Any], point: dict[str, Any],
               best: dict[str, Any] | None, on_eval: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    """After an evaluation: save the agent to ``out/final`` and, when ``point`` beats ``best`` (success, then
    reward), to ``out/best``; report the point to ``on_eval``. Returns the best point so far."""
    save(out / "final", meta)
    if best is None or (point["success_rate"], point["mean_reward"]) > (best["success_rate"], best["mean_reward"]):
        best = point
        save(out / "best", {**meta, "best": point})
    if on_eval is not None:
        on_eval(point)
    return best


def write_summary(result: TrainResult, spec: TrainSpec, interrupted: bool) -> None:
    """``out/train.json``: the result, the spec and whether Ctrl-C cut the run."""
    summary = asdict(result)
    summary["out"] = str(result.out)
    summary["spec"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(spec).items()}
    summary["interrupted"] = interrupted
    write_json(Path(result.out) / "train.json", summary)


def tensorboard_available() -> bool:
    """Whether SB3 can log to TensorBoard (the ``tensorboard`` package is an optional extra)."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def train(spec: TrainSpec, on_eval: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train (or resume) an agent as ``spec`` says; see the module docstring. ``on_eval`` sees each point of
    the learning curve as it is measured (a hyperparameter search reports it to its pruner, which may stop
    the run by raising)."""
    if spec.algo == "gp_sarsa":
        return train_gp_sarsa(spec, on_eval)
    if spec.algo not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {spec.algo!r} (expected one of {', '.join(LEARNERS)})")
    set_threads(spec.threads)
    out = Path(spec.out)
    start_time = time.perf_counter()
    recipe: dict[str, Any] = {}
    overrides = dict(spec.overrides)
    if spec.warm_start:
        if spec.algo == "dqn" and spec.warm_start_mode == "conservative":
            raise ConfigError("the conservative warm start needs an actor-critic algorithm (ppo, a2c, maskable_ppo)")
        recipe = load_warm_start(spec.warm_start_mode)
        overrides = {**dict(recipe.get("finetune") or {}), **overrides}
    hp = load_hyperparams(spec.algo, spec.env_id, overrides, path=spec.hyperparams)
    n_envs = spec.n_envs or int(hp.get("n_envs", 1))
    hp["n_envs"] = n_envs
    budget_dialogues = spec.dialogues
    budget_timesteps = None if budget_dialogues else int(spec.timesteps or hp.get("n_timesteps", 100_000))

    curve: list[dict[str, Any]] = []
    dialogues_done = 0
    demonstrations = 0
    ws_stats: dict[str, Any] = {}
    resumed = spec.resume and (out / "final" / AGENT_FILE).is_file()
    env = make_vec_env(spec.env_id, n_envs, spec.seed, spec.env_kwargs)
    if resumed:
        meta = read_agent_meta(out / "final")
        if meta["algo"] != spec.algo or meta["env_id"] != spec.env_id:
            raise DialogGymError(f"{out / 'final'}: holds a {meta['algo']} agent for {meta['env_id']}; cannot resume "
                                 f"a {spec.algo} run on {spec.env_id} there")
        model, meta = load_agent(out / "final", env=env, load_optimizer=True)
        curve = list(meta.get("curve", []))
        dialogues_done = int(meta.get("dialogues", 0))
        demonstrations = int(meta.get("demonstrations", 0))
        # fresh environment seeds for the remaining dialogues (an interrupted run is not bit-identical):
        # indices n_envs * (1 + dialogues_done) + k, never those of the first start or of another resume point
        seed_training_envs(env, spec.seed, n_envs * (1 + dialogues_done))
        env.reset()
    else:
        model = build_model(spec.algo, env, hp, spec.seed)
        seed_training_envs(env, spec.seed, 0)  # after build_model, which seeds the envs with the model's seed
    # TensorBoard is an optional extra (dialog-gym[tensorboard]): without it, train.json keeps the curve
    model.tensorboard_log = str(out / "tensorboard") if spec.tensorboard and tensorboard_available() else None

    meta_base = {"algo": spec.algo, "env_id": spec.env_id, "env_kwargs": spec.env_kwargs, "seed": spec.seed,
                 "hyperparams": hp, "warm_start": spec.warm_start, "warm_start_mode": spec.warm_start_mode
                 if spec.warm_start else None}
    # the benchmark's test dialogues of this seed (no training stream meets them); a hyperparameter search
    # scores its trials on the validation stream instead, so that no choice is made on the test dialogues
    eval_stream = validation_seed if spec.validation else benchmark_test_seed

    def evaluate() -> dict[str, Any]:
        # over BATCH_ENVS sub-environments: one predict per step for all of them, the same dialogues as one env
        summary = evaluate_agent(lambda e: SB3Agent(model), spec.env_id, spec.eval_episodes, seeds=[spec.seed],
                                 env_kwargs=spec.env_kwargs, stream=eval_stream, n_envs=BATCH_ENVS)
        return {k: summary[k] for k in ("success_rate", "success_ci95", "mean_turns", "mean_bot_actions",
                                        "mean_reward", "invalid_action_rate")}

    best = max(curve, key=lambda p: (p["success_rate"], p["mean_reward"]), default=None)

    def record(point: dict[str, Any]) -> None:
        nonlocal best
        if hasattr(model, "exploration_rate") and model.num_timesteps:  # DQN's epsilon, to see its schedule
            point["exploration_rate"] = float(model.exploration_rate)
        curve.append(point)
        logger = training_logger(model)
        if logger is not None:
            for key in ("success_rate", "mean_reward", "mean_turns", "mean_bot_actions"):
                logger.record(f"eval/{key}", point[key])
            logger.record("eval/dialogues", point["dialogues"])
            logger.dump(step=model.num_timesteps)
        meta = {**meta_base, "dialogues": point["dialogues"], "demonstrations": demonstrations, "curve": curve}
        best = checkpoint(lambda folder, m: save_agent(model, folder, m), out, meta, point, best, on_eval)

    if spec.warm_start and not resumed:
        source = spec.warm_start
        gamma = float(hp.get("gamma", 0.99))
        if source == "rule":
            demos = expert_demonstrations(spec.env_id, int(recipe["demonstrations"]), seed=spec.seed, gamma=gamma,
                                          env_kwargs=spec.env_kwargs, stream=demonstration_seed)
        elif source.startswith("stories:"):
            demos = story_demonstrations(source.split(":", 1)[1], spec.env_id, gamma=gamma,
                                         env_kwargs=spec.env_kwargs)
        else:
            raise ConfigError(f"--warm-start must be 'rule' or 'stories:FILE', got {source!r}")
        demonstrations = demos.dialogues
        ws_stats = behaviour_clone(model, demos, epochs=int(recipe["epochs"]), batch_size=int(recipe["batch_size"]),
                                   learning_rate=float(recipe["learning_rate"]),
                                   value_pretraining=bool(recipe["value_pretraining"]),
                                   label_smoothing=float(recipe.get("label_smoothing", 0.0)), seed=spec.seed)
        record({"dialogues": 0, "timesteps": 0, **evaluate(), "after": "behaviour cloning"})
    elif not curve:
        record({"dialogues": 0, "timesteps": 0, **evaluate()})

    unit = "dialogues" if budget_dialogues else "timesteps"
    total = budget_dialogues if budget_dialogues else int(budget_timesteps or 0)
    done_units = dialogues_done if budget_dialogues else model.num_timesteps
    bar = tqdm(total=total, initial=min(done_units, total), unit=unit[:-1], desc=f"{spec.algo} {spec.env_id}",
               disable=not spec.progress, leave=False, dynamic_ncols=True)
    budget = _Budget(bar, unit)
    budget.dialogues = dialogues_done
    if budget_dialogues:  # schedules count dialogues (see agents/sb3_adapter.py)
        planned = budget_dialogues
        drive_progress(model, lambda: 1.0 - budget.dialogues / planned)
    interrupted = False
    try:
        while True:
            if budget_dialogues and budget.dialogues >= budget_dialogues:
                break
            if budget_timesteps and model.num_timesteps >= budget_timesteps:
                break
            budget.resume()
            next_eval = (budget.dialogues // spec.eval_every + 1) * spec.eval_every
            budget.stop_dialogues = min(next_eval, budget_dialogues) if budget_dialogues else next_eval
            budget.stop_timesteps = budget_timesteps
            remaining = (budget_timesteps - model.num_timesteps) if budget_timesteps else 10**12
            model.learn(total_timesteps=remaining, callback=budget, reset_num_timesteps=False,
                        tb_log_name=spec.algo, progress_bar=False)
            if spec.exact_dialogues and budget_dialogues:
                budget.settle()
            record({"dialogues": budget.dialogues, "timesteps": int(model.num_timesteps), **evaluate()})
    except KeyboardInterrupt:
        # Ctrl-C: keep what was trained, so that --resume goes on from here (the next evaluation comes at the
        # next multiple of eval_every); then let the interruption through
        interrupted = True
        save_agent(model, out / "final", {**meta_base, "dialogues": budget.dialogues,
                                          "demonstrations": demonstrations, "curve": curve, "interrupted": True})
    finally:
        bar.close()
        env.close()
    wall = time.perf_counter() - start_time
    result = TrainResult(out=out, curve=curve, final=curve[-1], best=best or curve[-1], wall_time=wall,
                         dialogues=budget.dialogues, timesteps=int(model.num_timesteps),
                         demonstrations=demonstrations, warm_start_stats=ws_stats)
    write_summary(result, spec, interrupted)
    if interrupted:
        raise KeyboardInterrupt
    return result


def train_gp_sarsa(spec: TrainSpec, on_eval: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train GP-SARSA as :func:`agents.rl_training.train` trains the others: a budget of dialogues (or
    timesteps), evaluation every ``eval_every`` dialogues on the benchmark's test stream (or the validation
    stream), ``out/final`` and ``out/best``, ``train.json``."""
    from agents.gp_sarsa import GPSarsa, GPSarsaAgent, check_turn_level, settings_keys
    from agents.rl import load_gp_agent, save_gp_agent
    from dialog_gym.envs import EnvRef

    if spec.warm_start:
        raise ConfigError("gp_sarsa has no warm start")
    check_turn_level(spec.env_id, spec.env_kwargs)
    set_threads(spec.threads)
    start = time.perf_counter()
    out = Path(spec.out)
    hp = load_hyperparams("gp_sarsa", spec.env_id, spec.overrides, path=spec.hyperparams)
    settings = {k: v for k, v in hp.items() if k in settings_keys()}
    env = EnvRef(spec.env_id, spec.env_kwargs).make()
    n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
    obs_dim = int(np.prod(env.observation_space.shape or (0,)))
    curve: list[dict[str, Any]] = []
    dialogues = 0
    if spec.resume and (out / "final" / AGENT_FILE).is_file():
        meta = read_agent_meta(out / "final")
        if meta["algo"] != "gp_sarsa" or meta["env_id"] != spec.env_id:
            raise ConfigError(f"{out / 'final'}: holds a {meta['algo']} agent for {meta['env_id']}; cannot resume "
                              f"a gp_sarsa run on {spec.env_id} there")
        learner = load_gp_agent(out / "final", meta)
        curve, dialogues = list(meta.get("curve", [])), int(meta.get("dialogues", 0))
    else:
        learner = GPSarsa(n_actions, obs_dim, seed=spec.seed, **settings)
    stream = validation_seed if spec.validation else benchmark_test_seed
    meta_base = {"algo": "gp_sarsa", "env_id": spec.env_id, "env_kwargs": spec.env_kwargs, "seed": spec.seed,
                 "hyperparams": hp, "warm_start": None, "warm_start_mode": None}
    best = max(curve, key=lambda p: (p["success_rate"], p["mean_reward"]), default=None)

    def record(point: dict[str, Any]) -> None:
        nonlocal best
        summary = evaluate_agent(lambda e: GPSarsaAgent(learner), spec.env_id, spec.eval_episodes,
                                 seeds=[spec.seed], env_kwargs=spec.env_kwargs, stream=stream)
        point.update({k: summary[k] for k in ("success_rate", "success_ci95", "mean_turns", "mean_bot_actions",
                                              "mean_reward", "invalid_action_rate")})
        point["dictionary_size"] = len(learner.acts)
        curve.append(point)
        meta = {**meta_base, "dialogues": point["dialogues"], "demonstrations": 0, "curve": curve}
        best = checkpoint(lambda folder, m: save_gp_agent(learner, folder, m), out, meta, point, best, on_eval)

    if not curve:
        record({"dialogues": 0, "timesteps": 0})
    budget_timesteps = None if spec.dialogues else int(spec.timesteps or hp.get("n_timesteps", 10_000))
    # a fresh stream index per start (as the SB3 runs: 1 + dialogues done on a resume)
    obs, info = env.reset(seed=training_env_seed(spec.seed, 0 if dialogues == 0 else 1 + dialogues))
    try:
        while True:
            if spec.dialogues and dialogues >= spec.dialogues:
                break
            if budget_timesteps and learner.num_timesteps >= budget_timesteps:
                break
            observations, actions, rewards = [], [], []
            done = False
            while not done:
                action = learner.act(obs, info.get("action_mask"), explore=True)
                observations.append(obs)
                actions.append(action)
                obs, reward, terminated, truncated, info = env.step(action)
                rewards.append(float(reward))
                done = terminated or truncated
            learner.learn_episode(observations, actions, rewards)
            dialogues += 1
            obs, info = env.reset()
            if dialogues % spec.eval_every == 0 or (spec.dialogues and dialogues >= spec.dialogues):
                record({"dialogues": dialogues, "timesteps": learner.num_timesteps})
    finally:
        env.close()
    if curve[-1]["dialogues"] != dialogues:
        record({"dialogues": dialogues, "timesteps": learner.num_timesteps})
    result = TrainResult(out=out, curve=curve, final=curve[-1], best=best or curve[-1],
                         wall_time=time.perf_counter() - start, dialogues=dialogues,
                         timesteps=learner.num_timesteps)
    write_summary(result, spec, interrupted=False)
    return result
