"""The benchmark: train and evaluate every agent on every environment of a suite, over seeds.

Protocol (PyDial's, Casanueva et al. 2017, for the full budget): training in batches of dialogues; after
each batch the agent is tested alone on fresh seeded dialogues; several seeds. An agent's "training
dialogues" are environment episodes for RL agents and expert dialogues for the imitation (Rasa) agents,
whose learning curve therefore shows success against the amount of demonstration; warm-started RL counts
its demonstrations too. Test dialogues are the same for every agent of a seed (the evaluation seed
:func:`dialog_gym.seeds.benchmark_eval_seed`, i.e. reset seeds ``(1000 + seed) * 100_000 + i``, far from
any training seed), so agents are compared on identical users.

The unit of work is a cell (:func:`plan_cells`): one (environment, agent, seed), the imitation agents of an
(environment, seed) together. A cell's result depends only on its parameters (torch threads = its CPUs,
1 by default), so it may run in this process or as a Ray task anywhere (:mod:`agents.cells`); each
finished cell is kept in ``out/cells/<key>.json`` and a re-run skips it. The outputs below are assembled
from the cell files.

Outputs in ``out/``: ``table.md`` (also printed), ``discrimination.md`` (every learner's success with its 95%
interval after the first and the last batch, and on how many tasks two learners' intervals are apart),
``results.json`` (everything, with versions, ids,
seeds and hardware, so a later run can be compared number by number with :func:`compare`),
``results.csv`` (one row per curve point), ``curves_<env>.png`` and ``cells/`` (one file per cell, with
its seconds, host and, for a failed cell, the error).
"""

from __future__ import annotations

import csv
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.cells import Cell, run_cells
from agents.evaluation_sim import evaluate_agent
from agents.tables import format_table
from dialog_gym import SUITES, __version__
from dialog_gym.envs import DEFAULT_ENV_ID, EnvLike, EnvRef
from dialog_gym.errors import ConfigError
from dialog_gym.metrics import t_interval
from dialog_gym.seeds import benchmark_eval_seed, benchmark_story_seed
from dialog_gym.utils import atomic_write, write_json

#: every agent the benchmark knows, in table order
ALL_AGENTS = ("random", "rule", "memo", "augmented", "supervised", "ensemble", "ppo", "maskable_ppo", "a2c", "dqn",
              "ppo_warm", "ppo_warm_naive")
FIXED_AGENTS = ("random", "rule")
RL_AGENTS = {  # name -> (algorithm, warm start mode)
    "ppo": ("ppo", None), "maskable_ppo": ("maskable_ppo", None), "a2c": ("a2c", None), "dqn": ("dqn", None),
    "ppo_warm": ("ppo", "conservative"), "ppo_warm_naive": ("ppo", "naive"),
}
#: imitation agents (Rasa's policies), trained on the rule expert's dialogues by agents.policy_training
IMITATION_AGENTS = ("memo", "augmented", "supervised", "ensemble")


@dataclass(frozen=True)
class Budget:
    suite: str
    seeds: int
    batches: tuple[int, ...]      # cumulative training dialogues at which agents are tested
    test_episodes: int
    agents: tuple[str, ...]
    imitation_epochs: int = 200   # epochs of the supervised policy (agents.policy_training default)


BUDGETS: dict[str, Budget] = {
    # about 10 minutes on a 2-core CPU: the README's main job
    "small": Budget("small", seeds=2, batches=(250, 500, 750, 1000), test_episodes=100,
                    agents=("random", "rule", "memo", "augmented", "supervised", "ensemble", "ppo", "maskable_ppo",
                            "a2c", "dqn", "ppo_warm"), imitation_epochs=50),
    # PyDial's protocol: 4 batches of 1000 dialogues, 500 test dialogues after each, 10 seeds
    "full": Budget("pydial", seeds=10, batches=(1000, 2000, 3000, 4000), test_episodes=500,
                   agents=("random", "rule", "memo", "augmented", "supervised", "ensemble", "ppo", "maskable_ppo",
                           "a2c", "dqn", "ppo_warm", "ppo_warm_naive")),
}
SUITES_EXTRA = {"small": [DEFAULT_ENV_ID, "dialog_gym/Restaurant-Env3-v0"]}


@dataclass
class RunRecord:
    env: str
    agent: str
    seed: int
    curve: list[dict[str, Any]]
    wall_time: float
    training_dialogues: int
    demonstrations: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> dict[str, Any]:
        return self.curve[-1]


def suite_envs(name: str) -> list[str]:
    if name in SUITES:
        return list(SUITES[name])
    if name in SUITES_EXTRA:
        return list(SUITES_EXTRA[name])
    raise ConfigError(f"unknown suite {name!r} (expected one of {', '.join([*SUITES, *SUITES_EXTRA])})")


def available_agents() -> list[str]:
    """Every agent the benchmark can run."""
    return list(ALL_AGENTS)


def _test(make_agent: Callable, env: EnvRef, seed: int, episodes: int) -> dict[str, Any]:
    s = evaluate_agent(make_agent, env, episodes, seeds=[benchmark_eval_seed(seed)])
    return {k: s[k] for k in ("success_rate", "success_ci95", "mean_turns", "mean_bot_actions", "mean_reward")}


def _run_fixed(agent: str, env: EnvRef, seed: int, budget: Budget) -> RunRecord:
    from agents.loading import make_agent

    start = time.perf_counter()
    point = _test(lambda e: make_agent(agent, e, seed=seed), env, seed, budget.test_episodes)
    curve = [{"dialogues": d, **point} for d in (0, *budget.batches)]
    return RunRecord(env.label, agent, seed, curve, time.perf_counter() - start, 0, note="no training")


def _run_imitation(agents: Sequence[str], env: EnvRef, seed: int, budget: Budget) -> list[RunRecord]:
    """Train the imitation agents together (the ensemble reuses the memoization and supervised policies
    of the same call) on the first k expert dialogues, for each batch size k, and test them."""
    from agents.policy import PolicyAgent
    from agents.policy_training import TrainingOptions, expert_story_graph, story_trackers, train_policies

    graph, domain = expert_story_graph(budget.batches[-1], seed=benchmark_story_seed(seed), env_id=env.id,
                                       **env.kwargs)
    trackers = story_trackers(graph, domain, augmentation=0)
    curves: dict[str, list[dict[str, Any]]] = {a: [] for a in agents}
    seconds: dict[str, float] = dict.fromkeys(agents, 0.0)
    options = TrainingOptions(seed=seed, epochs=budget.imitation_epochs)
    for k in budget.batches:
        trained = train_policies(list(agents), trackers[:k], domain, options)
        for agent in agents:
            policy, _ = trained[agent]
            t0 = time.perf_counter()
            curves[agent].append({"dialogues": k, **_test(lambda e, p=policy: PolicyAgent(p, e), env, seed,
                                                          budget.test_episodes)})
            seconds[agent] += time.perf_counter() - t0 + trained[agent][1]
    return [RunRecord(env.label, a, seed, curves[a], seconds[a], budget.batches[-1], note="trained on expert dialogues")
            for a in agents]


def _run_rl(agent: str, env: EnvRef, seed: int, budget: Budget, workdir: Path) -> RunRecord:
    from agents.rl_training import TrainSpec, train

    algo, warm = RL_AGENTS[agent]
    step = budget.batches[0]
    if any(b % step for b in budget.batches):
        raise ConfigError("RL batches must be multiples of the first batch")
    start = time.perf_counter()
    result = train(TrainSpec(algo, env.id, workdir / f"{agent}_{env.short_name}_s{seed}", env_kwargs=env.kwargs,
                             dialogues=budget.batches[-1], seed=seed, eval_every=step,
                             eval_episodes=budget.test_episodes, warm_start="rule" if warm else None,
                             warm_start_mode=warm or "conservative", progress=False, tensorboard=False))
    # the training evaluates on the same test seeds the other agents use (benchmark_eval_seed(seed))
    curve = [{k: p[k] for k in ("dialogues", "success_rate", "success_ci95", "mean_turns", "mean_bot_actions",
                                 "mean_reward")} for p in result.curve]
    return RunRecord(env.label, agent, seed, curve, time.perf_counter() - start, result.dialogues,
                     demonstrations=result.demonstrations, extra={"timesteps": result.timesteps})


#: rough relative cost of a cell, to start the longest first (measured on the small budget)
_COST = {"imitation": 100.0, "dqn": 50.0, "a2c": 40.0, "ppo": 35.0, "maskable_ppo": 35.0, "ppo_warm": 25.0,
         "ppo_warm_naive": 25.0, "random": 1.0, "rule": 1.0}


def unsupported_agents(env: EnvLike, agents: Sequence[str]) -> dict[str, str]:
    """The agents of ``agents`` that cannot run on ``env`` -> why: the Rasa policies (imitation agents)
    where the environment's family acts with its own acts instead of its domain's (summary acts, PyDial's
    turn level); the family says so, no env is made."""
    ref = EnvRef.of(env)
    imitation = [a for a in agents if a in IMITATION_AGENTS]
    family = ref.family() if imitation else None
    if family is None or family.acts == "domain":
        return {}
    problem = (f"Rasa policies choose among the domain's actions, but {ref} is a {family.name} task whose "
               f"actions are its own {family.acts} acts; run them on an action-level environment")
    return dict.fromkeys(imitation, problem)


def plan_cells(budget: Budget, envs: Sequence[EnvLike], agents: Sequence[str], seeds: Sequence[int],
               workdir: str | os.PathLike, cpus: int = 1) -> list[Cell]:
    """The benchmark's cells, in table order: one per (environment, agent, seed), except that the imitation
    agents of an (environment, seed) are one cell (they are trained together: the ensemble reuses the
    memoization and supervised policies)."""
    unknown = [a for a in agents if a not in ALL_AGENTS]
    if unknown:
        raise ConfigError(f"unknown agent(s) {', '.join(unknown)} (known: {', '.join(ALL_AGENTS)})")
    imitation = [a for a in agents if a in IMITATION_AGENTS]
    groups = [[a] for a in agents if a not in IMITATION_AGENTS or a == imitation[0]]
    groups = [imitation if g[0] in IMITATION_AGENTS else g for g in groups]
    versions = _versions()
    cells = []
    for env in map(EnvRef.of, envs):
        excluded = unsupported_agents(env, agents)  # no cells for them (run_benchmark says why)
        for group in groups:
            if group[0] in excluded:
                continue
            for seed in seeds:
                params = {"env": env.to_json(), "agents": list(group), "seed": seed, "batches": list(budget.batches),
                          "test_episodes": budget.test_episodes, "imitation_epochs": budget.imitation_epochs,
                          "torch_threads": cpus, "versions": versions}
                kind = "imitation" if group[0] in IMITATION_AGENTS else group[0]
                key = f"{env.key}__{'+'.join(group)}__s{seed}"
                cells.append(Cell(key, params, {"workdir": str(workdir)}, cpus=cpus, cost=_COST.get(kind, 10.0)))
    return cells


def benchmark_cell(cell: Cell) -> dict[str, Any]:
    """Run one cell of :func:`plan_cells` (in any process: its result depends on ``cell.params`` only)."""
    import torch

    p = cell.params
    mine = _versions()
    if p["versions"] != mine:  # a cluster node installed differently would give other numbers
        raise ConfigError("this worker has other versions than the driver: " + ", ".join(
            f"{k} {p['versions'].get(k)} (driver) vs {v} (here)" for k, v in mine.items() if p["versions"].get(k) != v))
    torch.set_num_threads(int(p["torch_threads"]))  # reproducible, and fastest for these small networks at 1
    budget = Budget("cell", seeds=1, batches=tuple(p["batches"]), test_episodes=p["test_episodes"],
                    agents=tuple(p["agents"]), imitation_epochs=p["imitation_epochs"])
    agent, env, seed = p["agents"][0], EnvRef.from_json(p["env"]), p["seed"]
    if agent in FIXED_AGENTS:
        records = [_run_fixed(agent, env, seed, budget)]
    elif agent in RL_AGENTS:
        records = [_run_rl(agent, env, seed, budget, Path(cell.context["workdir"]))]
    else:
        records = _run_imitation(p["agents"], env, seed, budget)
    return {"runs": [r.__dict__ for r in records]}


def run_benchmark(out: str | os.PathLike, budget: Budget, envs: Sequence[EnvLike], agents: Sequence[str],
                  seeds: Sequence[int], progress: bool = False, backend: str = "serial", address: str | None = None,
                  workers: int | None = None, cpus_per_cell: int = 1, retries: int = 3, fresh: bool = False,
                  note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every cell of (env, agent, seed) not already finished in ``out`` (see :mod:`agents.cells`), then
    write the outputs from the cell files; returns the results document."""
    out = Path(out)
    refs = [EnvRef.of(env) for env in envs]
    cells = plan_cells(budget, refs, agents, seeds, out / "runs", cpus=cpus_per_cell)
    for ref in refs:
        excluded = unsupported_agents(ref, agents)
        if excluded and note is not None:
            note(f"{', '.join(excluded)} skipped on {ref}: {next(iter(excluded.values()))}")
    labels = [ref.label for ref in refs]
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    records_by_key, skipped = run_cells(benchmark_cell, cells, out, backend=backend, address=address,
                                        workers=workers, retries=retries, fresh=fresh, progress=progress, note=note)
    records: list[RunRecord] = []
    failed: list[dict[str, Any]] = []
    cell_rows: list[dict[str, Any]] = []
    for cell in cells:
        rec = records_by_key[cell.key]
        cell_rows.append({"key": cell.key, "status": rec["status"], "seconds": rec["seconds"], "host": rec["host"],
                          **({"error": rec["error"]} if rec["status"] == "failed" else {})})
        if rec["status"] == "done":
            records.extend(RunRecord(**r) for r in rec["result"]["runs"])
        else:
            failed.extend({"env": EnvRef.from_json(cell.params["env"]).label, "agent": a, "seed": cell.params["seed"],
                           "error": rec["error"]} for a in cell.params["agents"])
    summary = summarize_runs(records, failed)
    disc = discrimination(records, labels, agents, sorted({budget.batches[0], budget.batches[-1]}))
    doc: dict[str, Any] = {
        "dialog_gym_version": __version__,
        "budget": budget.__dict__ | {"batches": list(budget.batches), "agents": list(budget.agents)},
        "envs": labels, "agents": list(agents), "seeds": list(seeds),
        "hardware": hardware() | {"torch_threads": cpus_per_cell}, "backend": backend,
        "workers": workers if backend == "ray" else 1,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "wall_time": time.time() - started, "cells_skipped": skipped,
        "cells": cell_rows,
        "runs": [r.__dict__ for r in records],
        "failed": failed,
        "summary": summary,
        "discrimination": disc,
    }
    write_json(out / "results.json", doc)
    write_csv(out / "results.csv", records)
    table = results_table(summary, labels, agents)
    with atomic_write(out / "table.md") as handle:
        handle.write(table + "\n")
    with atomic_write(out / "discrimination.md") as handle:
        handle.write(discrimination_table(disc) + "\n")
    for ref in refs:
        plot_curves(out / f"curves_{ref.short_name}.png", [r for r in records if r.env == ref.label], ref.label)
    return doc


def _versions() -> dict[str, str]:
    """The versions a cell's numbers depend on."""
    import gymnasium
    import sb3_contrib
    import stable_baselines3
    import torch

    return {"dialog_gym": __version__, "torch": torch.__version__, "gymnasium": gymnasium.__version__,
            "stable_baselines3": stable_baselines3.__version__, "sb3_contrib": sb3_contrib.__version__,
            "numpy": np.__version__}


def hardware() -> dict[str, Any]:
    import gymnasium
    import sb3_contrib
    import stable_baselines3
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(), "os": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__, "gymnasium": gymnasium.__version__,
            "stable_baselines3": stable_baselines3.__version__, "sb3_contrib": sb3_contrib.__version__,
            "torch_threads": torch.get_num_threads()}


def success_interval(points: Sequence[dict[str, Any]]) -> tuple[float, float, float]:
    """Mean success over seeds (one curve point per seed) and its 95% interval: Student-t over the seeds,
    or for a single seed the Wilson interval over its test dialogues; clipped to [0, 1]."""
    rates = [p["success_rate"] for p in points]
    mean, lo, hi = t_interval(rates)
    if len(points) == 1:
        lo, hi = points[0]["success_ci95"]
    return mean, max(0.0, lo), min(1.0, hi)


def summarize_runs(records: Sequence[RunRecord], failed: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Per (env, agent): the final success rate's mean and 95% t-interval over seeds, and means; the seeds
    whose cell failed are listed (an agent whose every seed failed has a row with ``seeds`` 0)."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.env, r.agent), []).append(r)
    failures: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in failed:
        failures.setdefault((f["env"], f["agent"]), []).append(f)
    rows = []
    for (env, agent), runs in groups.items():
        rates = [r.final["success_rate"] for r in runs]
        mean, lo, hi = success_interval([r.final for r in runs])
        rows.append({
            "env": env, "agent": agent, "seeds": len(runs),
            "success_rate": mean, "success_ci95": [lo, hi],
            "seed_success_rates": rates,
            "mean_turns": float(np.mean([r.final["mean_turns"] for r in runs])),
            "mean_bot_actions": float(np.mean([r.final["mean_bot_actions"] for r in runs])),
            "mean_reward": float(np.mean([r.final["mean_reward"] for r in runs])),
            "training_dialogues": int(np.mean([r.training_dialogues for r in runs])),
            "demonstrations": int(np.mean([r.demonstrations for r in runs])),
            "wall_time": float(np.mean([r.wall_time for r in runs])),
        })
        if (env, agent) in failures:
            rows[-1]["failed_seeds"] = [f["seed"] for f in failures[env, agent]]
    for (env, agent), fails in failures.items():
        if (env, agent) not in groups:
            rows.append({"env": env, "agent": agent, "seeds": 0, "failed_seeds": [f["seed"] for f in fails],
                         "error": fails[0]["error"]})
    return rows


def results_table(summary: Sequence[dict[str, Any]], envs: Sequence[str], agents: Sequence[str]) -> str:
    order = {(r["env"], r["agent"]): r for r in summary}
    rows = []
    for env in envs:
        for agent in agents:
            r = order.get((env, agent))
            if r is None:
                continue
            if not r["seeds"]:
                rows.append([env.split("/")[-1], agent, f"failed: {r['error'][:60]}", "-", "-", "-", "-", "-"])
                continue
            lo, hi = r["success_ci95"]
            training = str(r["training_dialogues"]) + (f" + {r['demonstrations']} demos" if r["demonstrations"] else "")
            success = f"{100 * r['success_rate']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
            if r.get("failed_seeds"):
                success += f" (failed: seed {', '.join(map(str, r['failed_seeds']))})"
            rows.append([env.split("/")[-1], agent, success, f"{r['mean_turns']:.1f}", f"{r['mean_bot_actions']:.1f}",
                         f"{r['mean_reward']:.2f}", training, f"{r['wall_time']:.0f} s"])
    return format_table(["env", "agent", "success (mean over seeds) [95% CI]", "user turns", "bot actions",
                         "mean reward", "training dialogues", "wall time / seed"], rows)


def point_at(curve: Sequence[dict[str, Any]], dialogues: int) -> dict[str, Any] | None:
    """The test after ``dialogues`` training dialogues: the first curve point at or past it (with several
    environments, training stops at the first step past a batch, e.g. 1001)."""
    return next((p for p in curve if p["dialogues"] >= dialogues), None)


def discrimination(records: Sequence[RunRecord], envs: Sequence[str], agents: Sequence[str],
                   points: Sequence[int]) -> dict[str, Any]:
    """Whether the benchmark tells the learners apart (the fixed baselines, random and rule, are not
    learners): for each environment and each number of training dialogues in ``points``, every learner's
    success with its 95% interval (:func:`success_interval`) and the pairs of learners whose intervals do not
    overlap. ``separated_tasks[str(n)]`` counts the environments with at least one such pair after n."""
    ran = {r.agent for r in records}
    learners = [a for a in agents if a not in FIXED_AGENTS and a in ran]
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    separated: dict[str, dict[str, list[list[str]]]] = {str(n): {} for n in points}
    for env in envs:
        cells[env] = {}
        for n in points:
            intervals = {}
            for agent in learners:
                found = [p for r in records if r.env == env and r.agent == agent
                         for p in [point_at(r.curve, n)] if p is not None]
                if found:
                    mean, lo, hi = success_interval(found)
                    intervals[agent] = (lo, hi)
                    cells[env].setdefault(agent, {})[str(n)] = {"success_rate": mean, "success_ci95": [lo, hi],
                                                                "seeds": len(found)}
            pairs = [[a, b] for i, a in enumerate(intervals) for b in list(intervals)[i + 1:]
                     if intervals[a][1] < intervals[b][0] or intervals[b][1] < intervals[a][0]]
            if pairs:
                separated[str(n)][env] = pairs
    return {"points": list(points), "learners": learners, "success": cells, "separated": separated,
            "separated_tasks": {k: len(v) for k, v in separated.items()}, "tasks": len(envs)}


def discrimination_table(disc: dict[str, Any]) -> str:
    """The learners' success with 95% intervals after each point, and per point how many tasks separate two
    learners (markdown)."""
    points = [str(n) for n in disc["points"]]
    rows = []
    for env, by_agent in disc["success"].items():
        for agent, at in by_agent.items():
            row = [env.split("/")[-1], agent]
            for n in points:
                cell = at.get(n)
                if cell is None:
                    row.append("-")
                    continue
                lo, hi = cell["success_ci95"]
                mark = " *" if any(agent in pair for pair in disc["separated"][n].get(env, [])) else ""
                row.append(f"{100 * cell['success_rate']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]{mark}")
            rows.append(row)
    table = format_table(["env", "learner", *(f"after {n} dialogues" for n in points)], rows)
    lines = [f"after {n} dialogues: two learners' 95% intervals are apart on {disc['separated_tasks'][n]} of "
             f"{disc['tasks']} tasks" for n in points]
    return table + "\n\n* = apart from another learner's interval at that point\n" + "\n".join(lines)


def write_csv(path: Path, records: Sequence[RunRecord]) -> None:
    with atomic_write(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(["env", "agent", "seed", "dialogues", "success_rate", "mean_turns", "mean_bot_actions",
                         "mean_reward"])
        for r in records:
            for p in r.curve:
                writer.writerow([r.env, r.agent, r.seed, p["dialogues"], p["success_rate"], p["mean_turns"],
                                 p["mean_bot_actions"], p["mean_reward"]])


#: the panels of the learning-curve figure: agent families, each in its own axes
FAMILIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("fixed baselines", FIXED_AGENTS, "no training: the same test result at every x"),
    ("Rasa policies (imitation)", IMITATION_AGENTS,
     "x = expert dialogues learned from; none at 0 (nothing to train on)"),
    ("RL from scratch", ("ppo", "maskable_ppo", "a2c", "dqn"), "x = training episodes; 0 = the untrained network"),
    ("RL with a warm start", ("ppo_warm", "ppo_warm_naive"),
     "behaviour-cloned on 200 expert dialogues first; 0 = after cloning"),
)


def plot_curves(path: Path, records: Sequence[RunRecord], env_id: str) -> None:
    """Success rate (%) against training dialogues, one panel per agent family (fixed baselines, Rasa
    policies, RL from scratch, RL with a warm start): mean over seeds, shaded min-max. Agents that
    coincide (often at 100% or 0%) are told apart by small horizontal offsets and distinct markers; the
    legends sit outside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors
    import matplotlib.pyplot as plt

    by_agent: dict[str, list[RunRecord]] = {}
    for r in records:
        by_agent.setdefault(r.agent, []).append(r)
    known = {a for _, members, _ in FAMILIES for a in members}
    panels = [(title, [a for a in by_agent if a in members], note) for title, members, note in FAMILIES]
    others = [a for a in by_agent if a not in known]
    if others:
        panels.append(("other agents", others, ""))
    panels = [p for p in panels if p[1]]
    if not panels:
        return
    xmax = max(p["dialogues"] for r in records for p in r.curve) or 1
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.3 * len(panels) + 0.8), sharex=True, squeeze=False)
    colours = list(matplotlib.colors.TABLEAU_COLORS.values())  # tab10's colours
    markers = "osD^vPX*"
    seeds = len({r.seed for r in records})
    for ax, (title, agents, note) in zip(axes[:, 0], panels, strict=True):
        for k, agent in enumerate(agents):
            runs = by_agent[agent]
            xs = np.array([p["dialogues"] for p in runs[0].curve], dtype=float)
            ys = 100 * np.array([[p["success_rate"] for p in r.curve] for r in runs if len(r.curve) == len(xs)])
            offset = (k - (len(agents) - 1) / 2) * 0.025 * xmax  # coinciding curves stay visible side by side
            (line,) = ax.plot(xs + offset, ys.mean(axis=0), "-", marker=markers[k % len(markers)], markersize=6,
                              color=colours[k % len(colours)], linewidth=1.4, label=agent)
            if len(ys) > 1:
                ax.fill_between(xs + offset, ys.min(axis=0), ys.max(axis=0), color=line.get_color(), alpha=0.12)
        ax.set_ylim(-5, 105)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("success %")
        ax.grid(alpha=0.3)
        ax.set_title(f"{title}" + (f" — {note}" if note else ""), fontsize=9, loc="left")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    axes[-1, 0].set_xlabel("training dialogues (RL: episodes; Rasa policies: expert dialogues; "
                           "points offset slightly so equal curves stay apart)")
    fig.suptitle(f"{env_id}: success on the test dialogues, mean over {seeds} seed(s), shaded min-max", fontsize=10)
    fig.tight_layout()
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    plt.close(fig)


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """A ``results.json`` written by :func:`run_benchmark` (the package's error if it is not one)."""
    from dialog_gym.errors import PersistenceError
    from dialog_gym.utils import read_json

    doc = read_json(path, "expected a results.json written by 'dialog-gym benchmark'")
    try:
        for r in doc["runs"]:
            for p in r["curve"]:
                (r["env"], r["agent"], r["seed"], p["dialogues"], p["success_rate"], p["mean_turns"],
                 p["mean_bot_actions"], p["mean_reward"])
    except (KeyError, TypeError):
        raise PersistenceError(f"{path}: not a benchmark results.json (expected runs with curves)") from None
    return doc


def compare(old: str | os.PathLike, new: str | os.PathLike, tolerance: float = 0.0) -> list[str]:
    """Differences between two ``results.json`` files, number by number (empty: identical within
    ``tolerance``)."""
    a, b = load_results(old), load_results(new)
    index = lambda doc: {(r["env"], r["agent"], r["seed"], p["dialogues"]): p  # noqa: E731
                         for r in doc["runs"] for p in r["curve"]}
    ia, ib = index(a), index(b)
    diffs = []
    for key in sorted(set(ia) | set(ib)):
        if key not in ia or key not in ib:
            diffs.append(f"{key}: only in {'new' if key in ib else 'old'}")
            continue
        for metric in ("success_rate", "mean_turns", "mean_bot_actions", "mean_reward"):
            x, y = ia[key][metric], ib[key][metric]
            if abs(x - y) > tolerance:
                diffs.append(f"{key} {metric}: {x} -> {y}")
    return diffs
