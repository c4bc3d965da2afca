"""The benchmark: train and evaluate every agent on every environment of a suite, over seeds.

Protocol (PyDial's, Casanueva et al. 2017, for the full budget): training in batches of dialogues; after
each batch the agent is tested alone on fresh seeded dialogues; several seeds. An agent's "training
dialogues" are environment episodes for RL agents and expert dialogues for the imitation (Rasa) agents,
whose learning curve therefore shows success against the amount of demonstration; warm-started RL counts
its demonstrations too. Test dialogues are the same for every agent of a seed (the benchmark test stream
:data:`dialog_gym.seeds.benchmark_test_seed`, i.e. reset seeds ``(1000 + seed) * 100_000 + i``, disjoint
from every training stream), so agents are compared on identical users.

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
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from agents.cells import Cell, run_cells
from agents.evaluation_sim import evaluate_agent
from agents.llm_agent import LLMSettings, is_llm_agent
from agents.plotting import agent_styles
from agents.provenance import (
    code_fingerprint,
    earlier_sessions,
    env_fingerprint,
    hardware,
    json_sha256,
    library_versions,
    session_record,
)
from agents.tables import format_table
from dialog_gym import SUITES, __version__
from dialog_gym.envs import EnvLike, EnvRef
from dialog_gym.errors import ConfigError
from dialog_gym.metrics import t_interval
from dialog_gym.seeds import benchmark_story_seed, benchmark_test_seed
from dialog_gym.utils import as_json, atomic_write, write_json

#: every agent the benchmark knows, in table order
ALL_AGENTS = ("random", "rule", "memo", "augmented", "supervised", "ensemble", "ppo", "maskable_ppo", "a2c", "dqn",
              "maskable_dqn", "gp_sarsa", "ppo_warm", "ppo_warm_naive")
FIXED_AGENTS = ("random", "rule")
RL_AGENTS = {  # name -> (algorithm, warm start mode)
    "ppo": ("ppo", None), "maskable_ppo": ("maskable_ppo", None), "a2c": ("a2c", None), "dqn": ("dqn", None),
    "maskable_dqn": ("maskable_dqn", None), "gp_sarsa": ("gp_sarsa", None),
    "ppo_warm": ("ppo", "conservative"), "ppo_warm_naive": ("ppo", "naive"),
}
#: imitation agents (Rasa's policies), trained on the rule expert's dialogues by agents.policy_training
IMITATION_AGENTS = ("memo", "augmented", "supervised", "ensemble")
#: what a test point holds (the curves' and the table's numbers)
TEST_KEYS = ("success_rate", "success_ci95", "mean_turns", "mean_bot_actions", "mean_reward")


@dataclass(frozen=True)
class Budget:
    suite: str
    seeds: int
    batches: tuple[int, ...]      # cumulative training dialogues at which agents are tested
    test_episodes: int
    agents: tuple[str, ...]       # the default agents on action-level tasks (the domain's actions)
    imitation_epochs: int = 200   # epochs of the supervised policy (agents.policy_training default)
    turn_agents: tuple[str, ...] | None = None  # the default agents on turn-level tasks; None: ``agents``
    #: RL tested after exactly each batch's dialogues with several training envs too (TrainSpec.exact_dialogues);
    #: off for the small budget, whose reference was made testing after the first step past a batch (e.g. 252)
    exact_dialogues: bool = True

    def default_agents(self, envs: Sequence[EnvLike]) -> list[str]:
        """The agents run on ``envs`` when none are named: ``turn_agents`` on turn-level tasks (a family
        acting with its own summary acts, e.g. PyDial's), ``agents`` on action-level ones; for a mix, both
        lists in order (each agent runs where it can: :func:`unsupported_agents`)."""
        kinds = {EnvRef.of(env).family().acts for env in envs}
        lists = [self.turn_agents if kind != "domain" and self.turn_agents is not None else self.agents
                 for kind in sorted(kinds)]
        return list(dict.fromkeys(a for agents in lists for a in agents))


#: PyDial's learners and the two baselines: the protocol of the pydial18 reference (issue 19), the full budget's
#: agents on turn-level tasks
PROTOCOL_AGENTS = ("random", "rule", "ppo", "maskable_ppo", "dqn", "maskable_dqn", "gp_sarsa")

BUDGETS: dict[str, Budget] = {
    # about 10 minutes on a 2-core CPU: the README's main job
    "small": Budget("small", seeds=2, batches=(250, 500, 750, 1000), test_episodes=100,
                    agents=("random", "rule", "memo", "augmented", "supervised", "ensemble", "ppo", "maskable_ppo",
                            "a2c", "dqn", "ppo_warm"), imitation_epochs=50, exact_dialogues=False),
    # PyDial's protocol: 4 batches of 1000 dialogues, 500 test dialogues after each, 10 seeds
    "full": Budget("pydial", seeds=10, batches=(1000, 2000, 3000, 4000), test_episodes=500,
                   agents=("random", "rule", "memo", "augmented", "supervised", "ensemble", "ppo", "maskable_ppo",
                           "a2c", "dqn", "maskable_dqn", "ppo_warm", "ppo_warm_naive"),
                   turn_agents=PROTOCOL_AGENTS),
}


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
    """The ids of a suite (declared by the env configs' ``register.ids.<id>.suites``)."""
    if name in SUITES:
        return list(SUITES[name])
    raise ConfigError(f"unknown suite {name!r} (expected one of {', '.join(SUITES)})")


def available_agents() -> list[str]:
    """Every agent the benchmark can run."""
    return list(ALL_AGENTS)


def _test(make_agent: Callable, env: EnvRef, seed: int, episodes: int) -> dict[str, Any]:
    s = evaluate_agent(make_agent, env, episodes, seeds=[seed], stream=benchmark_test_seed)
    return {k: s[k] for k in TEST_KEYS}


def _run_fixed(agent: str, env: EnvRef, seed: int, budget: Budget) -> RunRecord:
    from agents.loading import make_agent

    start = time.perf_counter()
    point = _test(lambda e: make_agent(agent, e, seed=seed), env, seed, budget.test_episodes)
    curve = [{"dialogues": d, **point} for d in (0, *budget.batches)]
    return RunRecord(env.label, agent, seed, curve, time.perf_counter() - start, 0, note="no training")


def _run_llm(agent: str, env: EnvRef, seed: int, budget: Budget, params: dict[str, Any], workdir: Path) -> RunRecord:
    """A language-model agent (``openai:MODEL``, :mod:`agents.llm_agent`): no training, one test on the
    benchmark's test customers of ``seed`` through the chat interface, shown at every batch as the fixed
    baselines are. Its transcripts stay in ``workdir`` (a re-run of a failed cell plays only the dialogues
    still missing); a dialogue that ended in an error fails the cell (the numbers would cover other customers
    than the other agents')."""
    from agents.llm_agent import import_openai, plan_dialogues, play_dialogues, run_settings, summarize_lines

    import_openai()  # a worker without the client: the cell fails saying which extra it needs
    settings = LLMSettings(**params["llm"], **params.get("llm_run", {}))
    start = time.perf_counter()
    # one folder per model settings: a change of them starts afresh, a re-run of the same resumes
    out = workdir / f"{cell_name(agent)}_{env.short_name}_s{seed}_{json_sha256(params['llm'])[:8]}"
    dialogues = plan_dialogues([seed], budget.test_episodes, 1, benchmark_test_seed)
    lines = play_dialogues(env, settings, dialogues, out, run_settings(env, settings, [seed], benchmark_test_seed.name))
    summary = summarize_lines(lines, [seed], 1)
    if summary["errors"]:
        raise ConfigError(f"{summary['errors']} of {len(lines)} test dialogues ended in an error "
                          f"({summary['error_messages'][0]}); transcripts in {out}; run the benchmark again to play "
                          "them again")
    point = {k: summary[k] for k in TEST_KEYS}
    curve = [{"dialogues": d, **point} for d in (0, *budget.batches)]
    return RunRecord(env.label, agent, seed, curve, time.perf_counter() - start, 0, note="no training (language model)",
                     extra={"tokens": summary["tokens"], "requests": summary["requests"],
                            "tool_errors": summary["tool_errors"], "transcripts": str(out / "transcripts.jsonl")})


def cell_name(agent: str) -> str:
    """An agent's name as a cell key and a folder name: itself, or for a name with other characters than
    letters, digits, ``.``, ``_`` and ``-`` (``openai:qwen2.5:0.5b``) those replaced and a short hash added."""
    if re.fullmatch(r"[A-Za-z0-9._-]+", agent):
        return agent
    return re.sub(r"[^A-Za-z0-9._-]+", "-", agent) + "-" + json_sha256(agent)[:8]


def _run_imitation(agents: Sequence[str], env: EnvRef, seed: int, budget: Budget) -> list[RunRecord]:
    """Train the imitation agents together (the ensemble reuses the memoization and supervised policies
    of the same call) on the first k expert dialogues, for each batch size k, and test them."""
    from agents.policy import PolicyAgent
    from agents.policy_training import TrainingOptions, expert_story_graph, story_trackers, train_policies

    graph, domain = expert_story_graph(budget.batches[-1], seed=seed, env_id=env.id,
                                       stream=benchmark_story_seed, **env.kwargs)
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
                             warm_start_mode=warm or "conservative", progress=False, tensorboard=False,
                             exact_dialogues=budget.exact_dialogues))
    # the training evaluates on the same test dialogues the other agents use (benchmark_test_seed)
    curve = [{k: p[k] for k in ("dialogues", *TEST_KEYS)} for p in result.curve]
    return RunRecord(env.label, agent, seed, curve, time.perf_counter() - start, result.dialogues,
                     demonstrations=result.demonstrations, extra={"timesteps": result.timesteps})


#: rough relative cost of a cell, to start the longest first (measured on the small budget)
_COST = {"imitation": 100.0, "dqn": 50.0, "maskable_dqn": 50.0, "gp_sarsa": 50.0, "a2c": 40.0, "ppo": 35.0,
         "maskable_ppo": 35.0, "ppo_warm": 25.0, "ppo_warm_naive": 25.0, "random": 1.0, "rule": 1.0}


def unsupported_agents(env: EnvLike, agents: Sequence[str]) -> dict[str, str]:
    """The agents of ``agents`` that cannot run on ``env`` -> why: the Rasa policies (imitation agents)
    where the environment's family acts with its own acts instead of its domain's (summary acts, PyDial's
    turn level), and GP-SARSA where it acts with its domain's actions (it is a turn-level learner); the family
    says so, no env is made."""
    ref = EnvRef.of(env)
    imitation = [a for a in agents if a in IMITATION_AGENTS]
    llms = [a for a in agents if is_llm_agent(a)]
    family = ref.family() if imitation or llms or "gp_sarsa" in agents else None
    if family is None:
        return {}
    if family.acts == "domain":
        turn_level = [a for a in agents if a == "gp_sarsa" or is_llm_agent(a)]
        return {a: f"{'gp_sarsa runs' if a == 'gp_sarsa' else 'language-model agents play through the chat interface'}"
                   f" on the turn-level families (pydial, summary), but {ref} is a {family.name} task whose actions "
                   "are its domain's" for a in turn_level}
    problem = (f"Rasa policies choose among the domain's actions, but {ref} is a {family.name} task whose "
               f"actions are its own {family.acts} acts; run them on an action-level environment")
    return dict.fromkeys(imitation, problem)


#: the parts of a cell's parameters other than its settings (what a re-run says changed; see agents.cells)
PARAM_PARTS = {"code": "code", "env_data": "env data", "hyperparams": "hyperparameters", "versions": "versions"}


def hyperparams_used(agent: str, env_id: str) -> dict[str, Any] | None:
    """The hyperparameter entries an agent's training reads on ``env_id`` (RL agents: the algorithm's merged
    entry and the warm-start recipe; others: None, their settings are the cell's and the code's), as JSON."""
    if agent not in RL_AGENTS:
        return None
    from agents.hyperparams import load_hyperparams, load_warm_start

    algo, warm = RL_AGENTS[agent]
    used = {"algorithm": load_hyperparams(algo, env_id), "warm_start": load_warm_start(warm) if warm else None}
    return as_json(used)  # as a cell file holds it


def plan_cells(budget: Budget, envs: Sequence[EnvLike], agents: Sequence[str], seeds: Sequence[int],
               workdir: str | os.PathLike, cpus: int = 1, llm: LLMSettings | None = None) -> list[Cell]:
    """The benchmark's cells, in table order: one per (environment, agent, seed), except that the imitation
    agents of an (environment, seed) are one cell (they are trained together: the ensemble reuses the
    memoization and supervised policies). A language-model agent's (``openai:MODEL``) cell holds, besides,
    how the model is called (``llm``, its model set from the name: what its dialogues depend on, so its
    fingerprint changes with them) and, apart from the parameters, the timeout, retries and concurrency."""
    from agents.llm_agent import model_of

    unknown = [a for a in agents if a not in ALL_AGENTS and not is_llm_agent(a)]
    if unknown:
        raise ConfigError(f"unknown agent(s) {', '.join(unknown)} (known: {', '.join(ALL_AGENTS)})")
    imitation = [a for a in agents if a in IMITATION_AGENTS]
    groups = [[a] for a in agents if a not in IMITATION_AGENTS or a == imitation[0]]
    groups = [imitation if g[0] in IMITATION_AGENTS else g for g in groups]
    versions = library_versions()
    code = code_fingerprint()["sha256"]
    cells = []
    for env in map(EnvRef.of, envs):
        excluded = unsupported_agents(env, agents)  # no cells for them (run_benchmark says why)
        env_data = env_fingerprint(env)
        for group in groups:
            if group[0] in excluded:
                continue
            hyperparams = hyperparams_used(group[0], env.id)
            for seed in seeds:
                params = {"env": env.to_json(), "agents": list(group), "seed": seed, "batches": list(budget.batches),
                          "test_episodes": budget.test_episodes, "imitation_epochs": budget.imitation_epochs,
                          "torch_threads": cpus, "versions": versions, "code": code, "env_data": env_data,
                          "hyperparams": hyperparams,
                          # absent: tested after the first step past a batch, as before the setting existed
                          **({"exact_dialogues": True} if budget.exact_dialogues else {})}
                kind = "imitation" if group[0] in IMITATION_AGENTS else group[0]
                key = f"{env.key}__{'+'.join(map(cell_name, group))}__s{seed}"
                context: dict[str, Any] = {"workdir": str(workdir)}
                if is_llm_agent(group[0]):
                    settings = replace(llm or LLMSettings(""), model=model_of(group[0]))
                    params["llm"] = settings.identity()
                    context["llm_run"] = {k: getattr(settings, k) for k in ("timeout", "max_retries", "concurrency")}
                cells.append(Cell(key, params, context, cpus=cpus, cost=_COST.get(kind, 10.0)))
    return cells


def benchmark_cell(cell: Cell) -> dict[str, Any]:
    """Run one cell of :func:`plan_cells` (in any process: its result depends on ``cell.params`` only)."""
    from agents.rl import set_threads

    p = cell.params
    env = EnvRef.from_json(p["env"])
    mine = library_versions()
    if p["versions"] != mine:  # a cluster node installed differently would give other numbers
        raise ConfigError("this worker has other versions than the driver: " + ", ".join(
            f"{k} {p['versions'].get(k)} (driver) vs {v} (here)" for k, v in mine.items() if p["versions"].get(k) != v))
    for part, here in (("code", code_fingerprint()["sha256"]), ("env_data", env_fingerprint(env))):
        if p[part] != here:
            raise ConfigError(f"this worker has other {PARAM_PARTS[part]} than the driver ({part} fingerprint "
                              f"{p[part][:12]} (driver) vs {here[:12]} (here))")
    set_threads(int(p["torch_threads"]))  # torch's and numpy's: reproducible, and fastest at 1
    budget = Budget("cell", seeds=1, batches=tuple(p["batches"]), test_episodes=p["test_episodes"],
                    agents=tuple(p["agents"]), imitation_epochs=p["imitation_epochs"],
                    exact_dialogues=bool(p.get("exact_dialogues", False)))
    agent, seed = p["agents"][0], p["seed"]
    if agent in FIXED_AGENTS:
        records = [_run_fixed(agent, env, seed, budget)]
    elif is_llm_agent(agent):
        records = [_run_llm(agent, env, seed, budget, {"llm": p["llm"], "llm_run": cell.context.get("llm_run", {})},
                            Path(cell.context["workdir"]))]
    elif agent in RL_AGENTS:
        records = [_run_rl(agent, env, seed, budget, Path(cell.context["workdir"]))]
    else:
        records = _run_imitation(p["agents"], env, seed, budget)
    return {"runs": [r.__dict__ for r in records]}


def run_benchmark(out: str | os.PathLike, budget: Budget, envs: Sequence[EnvLike], agents: Sequence[str],
                  seeds: Sequence[int], progress: bool = False, backend: str = "serial", address: str | None = None,
                  workers: int | None = None, cpus_per_cell: int = 1, retries: int = 3, fresh: bool = False,
                  note: Callable[[str], None] | None = None, llm: LLMSettings | None = None) -> dict[str, Any]:
    """Run every cell of (env, agent, seed) not already finished in ``out`` with the same parameters (see
    :mod:`agents.cells`), then write the outputs from the cell files; returns the results document.

    The document records what made its numbers (the code's and each environment's fingerprint, the library
    versions, each cell's fingerprint by part) and its ``history``: one record per session that computed
    cells of it (start, wall time, machine, cells reused and recomputed and why), the original run first; the
    top-level ``started``, ``wall_time``, ``hardware``, ``backend`` and ``workers`` are the original run's."""
    out = Path(out)
    refs = [EnvRef.of(env) for env in envs]
    cells = plan_cells(budget, refs, agents, seeds, out / "runs", cpus=cpus_per_cell, llm=llm)
    for ref in refs:
        excluded = unsupported_agents(ref, agents)
        if excluded and note is not None:
            note(f"{', '.join(excluded)} skipped on {ref}: {next(iter(excluded.values()))}")
    labels = [ref.label for ref in refs]
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    run = run_cells(benchmark_cell, cells, out, backend=backend, address=address, workers=workers, retries=retries,
                    fresh=fresh, progress=progress, note=note, parts=PARAM_PARTS)
    records: list[RunRecord] = []
    failed: list[dict[str, Any]] = []
    cell_rows: list[dict[str, Any]] = []
    for cell in cells:
        rec = run.records[cell.key]
        cell_rows.append({"key": cell.key, "agent": "+".join(cell.params["agents"]), "status": rec["status"],
                          "seconds": rec["seconds"], "cpu_seconds": rec.get("cpu_seconds"), "host": rec["host"],
                          "fingerprint": cell_fingerprint(cell.params),
                          **({"error": rec["error"]} if rec["status"] == "failed" else {})})
        if rec["status"] == "done":
            records.extend(RunRecord(**r) for r in rec["result"]["runs"])
        else:
            failed.extend({"env": cell.params["env"], "agent": a, "seed": cell.params["seed"],
                           "error": rec["error"]} for a in cell.params["agents"])
    summary = summarize_runs(records, failed)
    disc = discrimination(records, labels, agents, sorted({budget.batches[0], budget.batches[-1]}))
    session = session_record(started, hardware() | {"torch_threads": cpus_per_cell}, backend=backend,
                             workers=workers if backend == "ray" else 1, cells_reused=len(run.reused),
                             cells_recomputed=len(run.recomputed), recomputed_because=run.reasons(),
                             cells_new=len(cells) - len(run.reused) - len(run.recomputed))
    history = [*(earlier_sessions(out / "results.json") if run.reused else []), session]
    first = history[0]
    doc: dict[str, Any] = {
        "dialog_gym_version": __version__,
        "budget": budget.__dict__ | {"batches": list(budget.batches), "agents": list(budget.agents)},
        "envs": labels, "agents": list(agents), "seeds": list(seeds),
        "code_fingerprint": code_fingerprint(),
        "env_fingerprints": {ref.label: env_fingerprint(ref) for ref in refs},
        "versions": library_versions(),
        **{k: first.get(k) for k in ("hardware", "backend", "workers", "started", "wall_time")},
        "cells_skipped": len(run.reused),
        "history": history,
        "cells": cell_rows,
        "runs": [r.__dict__ for r in records],
        "failed": failed,
        "summary": summary,
        "cpu": cpu_summary(cell_rows),
        "discrimination": disc,
    }
    write_json(out / "results.json", doc)
    write_csv(out / "results.csv", records)
    with atomic_write(out / "table.md") as handle:
        handle.write(table_document(doc) + "\n")
    with atomic_write(out / "discrimination.md") as handle:
        handle.write(discrimination_table(disc) + "\n")
    for ref in refs:
        plot_curves(out / f"curves_{ref.short_name}.png", [r for r in records if r.env == ref.label], ref.label,
                    agents)
    return doc


def cell_fingerprint(params: dict[str, Any]) -> dict[str, Any]:
    """A cell's fingerprint: the sha256 of all its parameters, and of each part (:data:`PARAM_PARTS`, and
    ``settings``: the rest), so that a comparison can say which part differs."""
    settings = {k: v for k, v in params.items() if k not in PARAM_PARTS}
    return {"sha256": json_sha256(params),
            "parts": {"settings": json_sha256(settings), **{k: json_sha256(params.get(k)) for k in PARAM_PARTS}}}


def cpu_summary(cells: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's CPU cost from its cells' records (``agent``, ``cpu_seconds``; see :func:`agents.cells.execute_cell`):
    per agent (an imitation cell's agents together, as ``memo+augmented+...``) the cells, total and median CPU
    seconds per cell, and the run's total in CPU seconds and hours. Reused cells count with the CPU seconds of
    the session that computed them, so a run that spans sessions sums its real cost; cells without a record
    (written before CPU time was recorded) are counted apart, in ``cells_unmeasured``."""
    per_agent: dict[str, list[float]] = {}
    unmeasured: dict[str, int] = {}
    for cell in cells:
        seconds = cell.get("cpu_seconds")
        if seconds is None:
            unmeasured[cell["agent"]] = unmeasured.get(cell["agent"], 0) + 1
        else:
            per_agent.setdefault(cell["agent"], []).append(float(seconds))
    agents = {agent: {"cells": len(xs), "cpu_seconds": sum(xs), "median_cpu_seconds": float(np.median(xs))}
              for agent, xs in per_agent.items()}
    total = sum(a["cpu_seconds"] for a in agents.values())
    return {"agents": agents, "cpu_seconds": total, "cpu_hours": total / 3600,
            "cells_unmeasured": dict(unmeasured)}


def cpu_table(cpu: dict[str, Any]) -> str:
    """:func:`cpu_summary` as markdown: one row per agent, then the run's total."""
    rows = [[agent, str(a["cells"]), f"{a['cpu_seconds']:.1f}", f"{a['median_cpu_seconds']:.1f}"]
            for agent, a in cpu["agents"].items()]
    table = format_table(["agent", "cells", "CPU seconds (total)", "CPU seconds per cell (median)"], rows)
    line = (f"total: {cpu['cpu_seconds']:.0f} CPU seconds = {cpu['cpu_hours']:.2f} CPU-hours over "
            f"{sum(a['cells'] for a in cpu['agents'].values())} cells")
    if cpu["cells_unmeasured"]:
        missing = sum(cpu["cells_unmeasured"].values())
        line += f" ({missing} reused cell{'s' * (missing != 1)} without a CPU record not counted)"
    return table + "\n\n" + line


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


#: what ``table.md`` says its interval is (the shaded band of the curves is the same one)
INTERVAL_TEXT = ("the 95% Student-t interval of the mean over the seeds (with one seed: the 95% Wilson interval "
                 "over its test dialogues), clipped to [0, 100]%")


#: what the CPU time of ``table.md`` is
CPU_TEXT = ("CPU seconds of each cell's process over the cell (user + system time of every thread, torch's "
            "included; Python's time.process_time), summed over its cells per agent; cells reused from an earlier "
            "session count with the CPU seconds recorded when they ran")


def table_document(doc: dict[str, Any]) -> str:
    """``table.md``: a heading, what was run (environments, seeds, batches, test dialogues, when and where),
    what each column and the interval are, then :func:`results_table`; from a results document, so that the
    table of any ``results.json`` can be written again."""
    budget = doc["budget"]
    envs = [e.split("/")[-1] for e in doc["envs"]]
    seeds = doc["seeds"]
    batches = budget["batches"]
    hardware = doc.get("hardware") or {}
    machine = ", ".join(label.format(hardware[key]) for key, label in (
        ("cpu", "{}"), ("cores", "{} cores"), ("python", "Python {}"), ("torch", "torch {}")) if hardware.get(key))
    lines = [
        f"# Benchmark: success of each agent after {batches[-1]} training dialogues",
        "",
        f"- environment{'s' * (len(envs) != 1)}: {', '.join(envs)}",
        f"- seeds: {len(seeds)} ({', '.join(map(str, seeds))}); training in batches, tested after "
        f"{', '.join(map(str, batches))} dialogues (RL agents: episodes; Rasa policies: expert dialogues learned from)",
        f"- test: {budget['test_episodes']} test dialogues per seed after each batch, the same dialogues for every "
        "agent of a seed; this table is after the last batch, the curves (`curves_<env>.png`) after each",
        f"- success: the mean over the seeds of each seed's success rate; [low, high] is {INTERVAL_TEXT} (the "
        "shaded band of the curves is the same interval)",
        "- user turns, bot actions, mean reward: means over the seeds (each a mean over its test dialogues); "
        "training dialogues: per seed; wall time / seed: seconds per seed on the machine of the next line",
        f"- run: dialog_gym {doc.get('dialog_gym_version', '?')}, started {doc.get('started', '?')}"
        + (f", {machine}" if machine else ""),
        "",
        results_table(doc["summary"], doc["envs"], doc["agents"]),
    ]
    if doc.get("cpu"):  # results.json files written before CPU time was recorded have none
        lines += ["", "## CPU time", "",
                  f"{CPU_TEXT}; machine: {machine or 'see results.json'}.", "", cpu_table(doc["cpu"])]
    return "\n".join(lines)


def point_at(curve: Sequence[dict[str, Any]], dialogues: int) -> dict[str, Any] | None:
    """The test after ``dialogues`` training dialogues: the first curve point at or past it (results made
    before :attr:`Budget.exact_dialogues`, and the small budget's, test RL trained with several environments
    after the first step past a batch, e.g. 1001)."""
    return next((p for p in curve if p["dialogues"] >= dialogues), None)


def discrimination(records: Sequence[RunRecord], envs: Sequence[str], agents: Sequence[str],
                   points: Sequence[int]) -> dict[str, Any]:
    """Whether the benchmark tells the learners apart (the fixed baselines, random and rule, are not
    learners): for each environment and each number of training dialogues in ``points``, every learner's
    success with its 95% interval (:func:`success_interval`) and the pairs of learners whose intervals do not
    overlap. ``separated_tasks[str(n)]`` counts the environments with at least one such pair after n."""
    ran = {r.agent for r in records}
    learners = [a for a in agents if a not in FIXED_AGENTS and not is_llm_agent(a) and a in ran]
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
    ("RL from scratch", ("ppo", "maskable_ppo", "a2c", "dqn", "maskable_dqn", "gp_sarsa"),
     "x = training episodes; 0 = the untrained network"),
    ("RL with a warm start", ("ppo_warm", "ppo_warm_naive"),
     "behaviour-cloned on 200 expert dialogues first; 0 = after cloning"),
)


def curve_bands(runs: Sequence[RunRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """An agent's curve over seeds: x (training dialogues), mean success and its 95% interval at each x, in
    % (:func:`success_interval`, the table's interval); the interval is NaN where it is undefined (one seed
    whose points lack their Wilson interval). None if the agent has no points."""
    runs = [r for r in runs if len(r.curve) == len(runs[0].curve)] if runs else []
    if not runs or not runs[0].curve:
        return None
    xs = np.array([p["dialogues"] for p in runs[0].curve], dtype=float)
    rows = []
    for i in range(len(xs)):
        points = [r.curve[i] for r in runs]
        if len(points) == 1 and "success_ci95" not in points[0]:
            rows.append((points[0]["success_rate"], np.nan, np.nan))
        else:
            rows.append(success_interval(points))
    mean, lo, hi = (100 * np.array(column, dtype=float) for column in zip(*rows, strict=True))
    return xs, mean, lo, hi


def curve_figure(records: Sequence[RunRecord], env_id: str, agents: Sequence[str] | None = None) -> Any:
    """The learning-curve figure of :func:`plot_curves` (a matplotlib ``Figure``, no pyplot state), or None
    when there is nothing to draw. ``agents`` (default: those of ``records``) fixes the colours of agents
    outside :data:`AGENT_STYLES`."""
    from matplotlib.figure import Figure

    by_agent: dict[str, list[RunRecord]] = {}
    for r in records:
        by_agent.setdefault(r.agent, []).append(r)
    styles = agent_styles([*(agents or ()), *by_agent])
    known = {a for _, members, _ in FAMILIES for a in members}
    panels = [(title, [a for a in by_agent if a in members], note) for title, members, note in FAMILIES]
    others = [a for a in by_agent if a not in known]
    if others:
        panels.append(("other agents", others, ""))
    panels = [p for p in panels if p[1]]
    if not panels:
        return None
    fig = Figure(figsize=(9, 2.3 * len(panels) + 0.8))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    linestyles = ("-", "--", "-.", ":")
    seeds = len({r.seed for r in records})
    for ax, (title, members, note) in zip(axes[:, 0], panels, strict=True):
        for k, agent in enumerate(members):
            curve = curve_bands(by_agent[agent])
            if curve is None:
                continue
            xs, mean, lo, hi = curve
            colour, marker = styles[agent]
            # equal curves (often at 100% or 0%) stay visible without moving any x: each later agent of the
            # panel has a smaller hollow marker (so they nest) and another dash pattern
            ax.plot(xs, mean, linestyle=linestyles[k % len(linestyles)], marker=marker,
                    markersize=max(3.0, 10 - 2.2 * k), markerfacecolor="none", markeredgewidth=1.4, color=colour,
                    linewidth=1.4, label=agent, zorder=2 + k)
            if not np.isnan(lo).all():
                ax.fill_between(xs, lo, hi, color=colour, alpha=0.12, linewidth=0, zorder=1)
        ax.set_ylim(-5, 105)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("success %")
        ax.grid(alpha=0.3)
        ax.set_title(f"{title}" + (f" — {note}" if note else ""), fontsize=9, loc="left")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    xmax = max((p["dialogues"] for r in records for p in r.curve), default=0) or 1
    axes[-1, 0].set_xlim(-0.02 * xmax, 1.02 * xmax)  # every point at its own x (>= 0); the margin shows the 0s
    axes[-1, 0].set_xlabel("training dialogues (RL: episodes; Rasa policies: expert dialogues)")
    fig.suptitle(f"{env_id}: success on the test dialogues, mean over {seeds} seed(s); shaded: the 95% interval "
                 "of table.md\n(Student t over the seeds; one seed: Wilson over its test dialogues)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_curves(path: Path, records: Sequence[RunRecord], env_id: str, agents: Sequence[str] | None = None) -> None:
    """Success rate (%) against training dialogues as a PNG, one panel per agent family (fixed baselines, Rasa
    policies, RL from scratch, RL with a warm start): the mean over seeds, shaded its 95% interval (the one
    ``table.md`` gives). Each agent has one colour and marker in every panel and plot (:func:`agent_styles`);
    agents whose curves coincide are told apart by nested hollow markers and dash patterns; the legends sit
    outside the axes."""
    fig = curve_figure(records, env_id, agents)
    if fig is None:
        return
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)


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
    """Differences between two ``results.json`` files, number by number (empty: the numbers are identical
    within ``tolerance``; whether the same code and data made them is :func:`compare_results`' question)."""
    return number_differences(load_results(old), load_results(new), tolerance)


def number_differences(a: dict[str, Any], b: dict[str, Any], tolerance: float = 0.0) -> list[str]:
    """:func:`compare` on two loaded results documents."""
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


@dataclass
class Comparison:
    """Two ``results.json`` compared: the numbers (:func:`compare`) and, apart from them, what made them
    (:func:`provenance_differences`), so that "the numbers are identical" and "the same code and data made
    them" are never confused: after a pure refactor the numbers agree and the code differs."""

    numbers: list[str]
    provenance: list[str]
    kinds: list[str]               # the parts that differ: code, env data, hyperparameters, settings, versions
    fingerprinted: bool            # the old file records fingerprints (written by dialog_gym 0.2.0 or later)

    @property
    def identical(self) -> bool:
        """Every number equal, and made by the same code, data, hyperparameters and versions."""
        return not self.numbers and not self.provenance and self.fingerprinted

    def verdict(self) -> str:
        n = len(self.numbers)
        numbers = ("numbers identical" if not n else
                   f"{n} number{'s' * (n != 1)} differ{'s' * (n == 1)} from the reference's (env, agent, seed, "
                   "dialogues, metric: old -> new)")
        if not self.fingerprinted:
            return (f"{numbers}; the reference has no fingerprints (written before dialog_gym 0.2.0), so whether "
                    "the same code and data made its numbers is unknown")
        if self.provenance:
            kinds = self.kinds
            which = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
            return f"{numbers}, {which} differ{'s' * (len(kinds) == 1)} (made by other code, data or versions)"
        if not self.numbers:
            return "identical: every number equals the reference's, made by the same code, data and versions"
        return f"{numbers}, made by the same code, data and versions"


def provenance_differences(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What made two results documents differently: the code, the library versions, each environment's data
    and, cell by cell, the hyperparameters and settings; ``(lines, kinds)``. Only what both record is
    compared (an environment or cell in one file only is a difference of the numbers)."""
    lines: list[str] = []
    kinds: list[str] = []

    def differ(kind: str, line: str) -> None:
        lines.append(line)
        if kind not in kinds:
            kinds.append(kind)

    code_a, code_b = a.get("code_fingerprint") or {}, b.get("code_fingerprint") or {}
    if code_a.get("sha256") != code_b.get("sha256"):
        differ("code", f"code: {str(code_a.get('sha256'))[:12]} ({code_a.get('files')} files) -> "
                       f"{str(code_b.get('sha256'))[:12]} ({code_b.get('files')} files)")
    envs_a, envs_b = a.get("env_fingerprints") or {}, b.get("env_fingerprints") or {}
    for env in sorted(set(envs_a) & set(envs_b)):
        if envs_a[env] != envs_b[env]:
            differ("env data", f"env data of {env}: {envs_a[env][:12]} -> {envs_b[env][:12]}")
    versions_a, versions_b = a.get("versions") or {}, b.get("versions") or {}
    for lib in sorted(set(versions_a) | set(versions_b)):
        if versions_a.get(lib) != versions_b.get(lib):
            differ("versions", f"versions: {lib} {versions_a.get(lib)} -> {versions_b.get(lib)}")
    cells_a = {c["key"]: c.get("fingerprint") or {} for c in a.get("cells", [])}
    cells_b = {c["key"]: c.get("fingerprint") or {} for c in b.get("cells", [])}
    for part, kind in (("hyperparams", "hyperparameters"), ("settings", "settings")):
        keys = [k for k in sorted(set(cells_a) & set(cells_b))
                if (cells_a[k].get("parts") or {}).get(part) != (cells_b[k].get("parts") or {}).get(part)]
        if keys:
            differ(kind, f"{kind} of {len(keys)} cell(s): {', '.join(keys[:5])}{' ...' * (len(keys) > 5)}")
    return lines, kinds


def compare_results(old: str | os.PathLike, new: str | os.PathLike, tolerance: float = 0.0) -> Comparison:
    """Compare two ``results.json``: the numbers, and what made them."""
    a, b = load_results(old), load_results(new)
    lines, kinds = provenance_differences(a, b) if "code_fingerprint" in a else ([], [])
    return Comparison(number_differences(a, b, tolerance), lines, kinds, "code_fingerprint" in a)
