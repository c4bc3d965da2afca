"""Hyperparameter search, in the spirit of rl-baselines3-zoo's ``--optimize``.

Each trial trains the algorithm (:func:`agents.rl_training.train`) with hyperparameters drawn from the
search space ``configs/hyperparams/search/<algo>.yml`` on top of ``configs/hyperparams/<algo>.yml``, and
is evaluated every ``eval_every`` training dialogues on the validation stream of :mod:`dialog_gym.seeds`
(never the benchmark's test dialogues, on which a tuned agent is then scored); the objective is
the last evaluation's ``metric`` (mean reward by default: it rewards success and short dialogues). Optuna's
TPE sampler proposes the hyperparameters and a pruner stops trials whose periodic evaluations lag behind:

* ``serial``: plain Optuna in this process, with the median pruner;
* ``ray``: Ray Tune (trials in parallel, one CPU each) with ``OptunaSearch`` (the same TPE sampler) and the
  ASHA scheduler on the dialogues trained, on a local instance or the cluster at ``address``.

Outputs in ``out/``: ``best_hyperparams.yml`` (the rl-zoo format ``dialog-gym train --hyperparams`` reads),
``trials.csv`` and ``trials.md`` (one row per trial), ``trials.png`` (the objective per trial) and
``tune.json`` (everything).
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.cells import import_ray, ray_session
from agents.extras import MissingExtra, missing_message
from agents.hyperparams import ALGORITHMS, META_KEYS, check_value, constructor_keys, hyperparams_path
from agents.tables import format_table
from dialog_gym.errors import ConfigError, DialogGymError
from dialog_gym.resources import config_path
from dialog_gym.utils import atomic_write, read_yaml, write_json

KINDS = ("float", "log_float", "int", "choice")
METRICS = ("mean_reward", "success_rate")


@dataclass
class TuneSpec:
    """What to search: ``trials`` trainings of ``dialogues`` each, evaluated every ``eval_every``."""

    algo: str
    env_id: str
    out: Path
    trials: int = 20
    dialogues: int = 1000
    eval_every: int = 250
    eval_episodes: int = 50
    seed: int = 0
    metric: str = "mean_reward"
    backend: str = "serial"
    address: str | None = None
    workers: int | None = None
    space: str | None = None      # a search-space YAML (default: configs/hyperparams/search/<algo>.yml)
    env_kwargs: dict[str, Any] = field(default_factory=dict)


def search_space_path(algo: str) -> Path:
    return config_path("hyperparams", "search", f"{algo}.yml")


def load_space(algo: str, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The search space as Optuna distributions, checked: every key a hyperparameter of ``algo``, every
    bound and choice a value the algorithm accepts."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if algo not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {algo!r} (expected one of {', '.join(ALGORITHMS)})")
    path = Path(path) if path is not None else search_space_path(algo)
    data = read_yaml(path)
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: expected a mapping of hyperparameter -> {{kind: values}}")
    allowed = (META_KEYS | constructor_keys(algo)) - {"policy"}
    space: dict[str, Any] = {}
    for key, entry in data.items():
        where = f"{path}: {key}"
        if key not in allowed:
            raise ConfigError(f"{where}: not a hyperparameter of {algo} (expected one of {', '.join(sorted(allowed))})")
        if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in KINDS:
            raise ConfigError(f"{where}: expected exactly one of {', '.join(KINDS)}, e.g. {{log_float: [1e-5, 1e-3]}}")
        kind, values = next(iter(entry.items()))
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: {kind}: expected a list")
        if kind == "choice":
            if any(not isinstance(v, (int, float, str)) or isinstance(v, bool) for v in values):
                raise ConfigError(f"{where}: choices must be numbers or strings, got {values!r}")
            dist: Any = CategoricalDistribution(values)
            checked = values
        else:
            if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values) \
                    or not values[0] < values[1]:
                raise ConfigError(f"{where}: {kind}: expected [low, high] with low < high, got {values!r}")
            if kind == "int":
                if any(float(v) != int(v) for v in values):
                    raise ConfigError(f"{where}: int: expected integer bounds, got {values!r}")
                dist = IntDistribution(int(values[0]), int(values[1]))
            else:
                if kind == "log_float" and values[0] <= 0:
                    raise ConfigError(f"{where}: log_float: the low bound must be > 0, got {values[0]!r}")
                dist = FloatDistribution(float(values[0]), float(values[1]), log=kind == "log_float")
            checked = values
        for value in checked:
            if key == "policy_kwargs":
                from agents.hyperparams import parse_policy_kwargs

                parse_policy_kwargs(value, where)
            elif key not in ("n_envs", "n_timesteps"):
                check_value(algo, key, value, where)
        space[key] = dist
    return space


def sample(trial: Any, space: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameters for an Optuna trial, drawn from ``space`` (define-by-run)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    params = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            params[key] = trial.suggest_categorical(key, list(dist.choices))
        elif isinstance(dist, IntDistribution):
            params[key] = trial.suggest_int(key, dist.low, dist.high)
        else:
            params[key] = trial.suggest_float(key, dist.low, dist.high, log=dist.log)
    return params


def objective_value(point: Mapping[str, Any], metric: str) -> float:
    return float(point[metric])


def run_trial(spec: TuneSpec, params: Mapping[str, Any], name: str,
              report: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Train one trial; ``report`` sees each evaluation (and may stop the trial by raising)."""
    from agents.rl_training import TrainSpec, train

    result = train(TrainSpec(spec.algo, spec.env_id, Path(spec.out) / "trials" / name, dialogues=spec.dialogues,
                             seed=spec.seed, eval_every=spec.eval_every, eval_episodes=spec.eval_episodes,
                             overrides=dict(params), progress=False, tensorboard=False, env_kwargs=spec.env_kwargs,
                             validation=True),
                   on_eval=report)
    return result.curve


def tune(spec: TuneSpec) -> dict[str, Any]:
    """Run the search and write the outputs; returns the document written to ``tune.json``."""
    if spec.metric not in METRICS:
        raise ConfigError(f"unknown metric {spec.metric!r} (expected one of {', '.join(METRICS)})")
    try:
        import optuna
    except ImportError:
        raise MissingExtra(missing_message("the hyperparameter search", "ray", "optuna")) from None
    space = load_space(spec.algo, spec.space)
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if spec.backend == "serial":
        trials = _tune_serial(spec, space, optuna)
    elif spec.backend == "ray":
        import_ray()
        trials = _tune_ray(spec, space)
    else:
        raise ConfigError(f"unknown backend {spec.backend!r} (expected serial or ray)")
    complete = [t for t in trials if t["state"] == "complete"]
    if not complete:
        raise DialogGymError(f"none of the {len(trials)} trials completed (see {out / 'trials.md'})")
    best = max(complete, key=lambda t: (t["value"], -t["number"]))
    doc = {"spec": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(spec).items()},
           "search_space": str(spec.space or search_space_path(spec.algo)),
           "objective": f"{spec.metric} of the last evaluation ({spec.eval_episodes} test dialogues after "
                        f"{spec.dialogues} training dialogues), maximised",
           "wall_time": time.time() - started, "best": best, "trials": trials}
    write_outputs(spec, doc)
    return doc


def _tune_serial(spec: TuneSpec, space: Mapping[str, Any], optuna: Any) -> list[dict[str, Any]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=min(10, max(1, spec.trials // 3)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=spec.eval_every)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    seconds: dict[int, float] = {}
    errors: dict[int, str] = {}

    def objective(trial: Any) -> float:
        params = sample(trial, space)
        start = time.perf_counter()

        def report(point: dict[str, Any]) -> None:
            trial.report(objective_value(point, spec.metric), step=int(point["dialogues"]))
            trial.set_user_attr("dialogues", int(point["dialogues"]))
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            curve = run_trial(spec, params, f"{trial.number:03d}", report)
        except Exception as exc:
            if not isinstance(exc, optuna.TrialPruned):
                errors[trial.number] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            seconds[trial.number] = time.perf_counter() - start
        return objective_value(curve[-1], spec.metric)

    study.optimize(objective, n_trials=spec.trials, catch=(Exception,))
    rows = []
    for t in study.trials:
        state = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(t.state.name, "failed")
        value = t.value if t.value is not None else (
            t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
        rows.append({"number": t.number, "state": state, "value": value, "dialogues": t.user_attrs.get("dialogues", 0),
                     "seconds": seconds.get(t.number, 0.0), "params": dict(t.params),
                     **({"error": errors[t.number]} if t.number in errors else {})})
    return rows


def _ray_trainable(config: dict[str, Any], spec: dict[str, Any]) -> None:
    """One Ray Tune trial (a module-level function, so Ray ships it by reference)."""
    from ray import tune as ray_tune

    tune_spec = TuneSpec(**{**spec, "out": Path(spec["out"])})
    name = ray_tune.get_context().get_trial_id()

    def report(point: dict[str, Any]) -> None:
        ray_tune.report({"objective": objective_value(point, tune_spec.metric), "dialogues": int(point["dialogues"]),
                         "success_rate": point["success_rate"], "mean_reward": point["mean_reward"]})

    run_trial(tune_spec, config, name, report)


def _tune_ray(spec: TuneSpec, space: Mapping[str, Any]) -> list[dict[str, Any]]:
    import optuna
    from ray import tune as ray_tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no console tables
    with ray_session(spec.address, spec.workers) as ray:
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        searcher = OptunaSearch(space=dict(space), metric="objective", mode="max", sampler=optuna.samplers.TPESampler(
            seed=spec.seed, n_startup_trials=min(10, max(1, spec.trials // 3))))
        scheduler = ASHAScheduler(time_attr="dialogues", metric="objective", mode="max", max_t=spec.dialogues,
                                  grace_period=spec.eval_every, reduction_factor=2)
        plain = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(spec).items()}
        plain["out"] = str(Path(spec.out).resolve())
        trainable = ray_tune.with_resources(ray_tune.with_parameters(_ray_trainable, spec=plain), {"cpu": 1})
        tuner = ray_tune.Tuner(
            trainable,
            tune_config=ray_tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=spec.trials,
                                            max_concurrent_trials=slots),
            run_config=ray_tune.RunConfig(name="ray_tune", storage_path=str(Path(spec.out).resolve()), verbose=0))
        results = tuner.fit()
        rows = []
        for number, result in enumerate(sorted((results[i] for i in range(len(results))), key=lambda r: r.path or "")):
            metrics = result.metrics or {}
            config = result.config or {}
            dialogues = int(metrics.get("dialogues", 0))
            state = "failed" if result.error else ("complete" if dialogues >= spec.dialogues else "pruned")
            rows.append({"number": number, "state": state, "value": metrics.get("objective"), "dialogues": dialogues,
                         "seconds": float(metrics.get("time_total_s", 0.0)),
                         "params": {k: config[k] for k in space if k in config},
                         **({"error": f"{type(result.error).__name__}: {result.error}"[:500]} if result.error else {})})
    return rows


def best_hyperparams(spec: TuneSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The rl-zoo entry for ``spec.env_id``: the algorithm's file (default, then the environment's entry)
    with the best trial's values on top."""
    base = read_yaml(hyperparams_path(spec.algo)) or {}
    entry: dict[str, Any] = {}
    for key in ("default", spec.env_id):
        entry.update(base.get(key) or {})
    entry.update(params)
    return {spec.env_id: entry}


def write_outputs(spec: TuneSpec, doc: dict[str, Any]) -> None:
    import yaml

    out = Path(spec.out)
    best = doc["best"]
    header = (f"# best of {len(doc['trials'])} trials of 'dialog-gym tune --algo {spec.algo} --env {spec.env_id}': "
              f"trial {best['number']}, {spec.metric} {best['value']:.4g}\n"
              f"# train with: dialog-gym train --algo {spec.algo} --env {spec.env_id} --hyperparams "
              f"{out / 'best_hyperparams.yml'} --out runs/{spec.algo}_tuned\n")
    with atomic_write(out / "best_hyperparams.yml") as handle:
        handle.write(header + yaml.safe_dump(best_hyperparams(spec, best["params"]), sort_keys=False))
    keys = sorted({k for t in doc["trials"] for k in t["params"]})
    rows = [[t["number"], t["state"], "" if t["value"] is None else f"{t['value']:.4g}", t["dialogues"],
             f"{t['seconds']:.0f}", *[_fmt(t["params"].get(k)) for k in keys]] for t in doc["trials"]]
    columns = ["trial", "state", spec.metric, "dialogues", "seconds", *keys]
    with atomic_write(out / "trials.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, "error"])
        writer.writerows([*row, t.get("error", "")] for row, t in zip(rows, doc["trials"], strict=True))
    with atomic_write(out / "trials.md") as handle:
        handle.write(format_table(columns, rows) + "\n")
    write_json(out / "tune.json", doc)
    plot_trials(out / "trials.png", doc["trials"], spec.metric)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def plot_trials(path: Path, trials: list[dict[str, Any]], metric: str) -> None:
    """The objective of each trial (pruned ones at their last evaluation) and the best so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for state, marker, colour in (("complete", "o", "tab:blue"), ("pruned", "x", "tab:grey")):
        points = [(t["number"], t["value"]) for t in trials if t["state"] == state and t["value"] is not None]
        if points:
            ax.scatter(*zip(*points, strict=True), marker=marker, color=colour, label=state, zorder=3)
    best, xs, ys = -math.inf, [], []
    for t in trials:
        if t["state"] == "complete" and t["value"] is not None:
            best = max(best, t["value"])
        if best > -math.inf:
            xs.append(t["number"])
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="tab:orange", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{metric} (last evaluation)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    plt.close(fig)
