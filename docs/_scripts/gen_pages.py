"""Generate the documentation's data-driven parts into ``docs/_generated/`` (run by ``docs/conf.py``).

    python docs/_scripts/gen_pages.py            (from the repository root; the Sphinx build runs it too)

Everything here is made from the package and ``reference/`` at build time, so the pages cannot drift from
the code or the shipped results:

* ``<family>_docstring.md``: the class docstring of each environment family (Markdown, Gymnasium style);
* ``ids_<family>.md``: the registered ids of the family with their settings and suites;
* ``transcript_<id>.md``: one dialogue of the rule expert (reset seed 0), rendered with ``render_mode="ansi"``;
* ``small_table.md``, ``pydial18_tables.md``: the tables of the shipped reference results;
* ``figure_<name>.md`` (and ``curves_<name>.png``): the learning curves of the shipped reference results, drawn
  by the benchmark's own plotting (with the ``plots`` extra; without it the page says how to get them);
* ``cli_help.md``: ``dialog-gym --help``;
* ``chat_tools.md``, ``chat_dialogue.md``: the tools of ``dialog_gym.chat.make(CHAT_ID)`` and the messages of one
  dialogue of the rule expert through it (reset seed 0).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "_generated"

#: the environment families: (page key, class, ids whose transcript is shown)
TRANSCRIPTS = {
    "dialogue": ["dialog_gym/Restaurant-Env3-v0", "dialog_gym/Hotel-v0"],
    "summary": ["dialog_gym/Restaurant-Summary-Env2-v0"],
    "pydial": ["dialog_gym/PyDial-CR-Env3-v0"],
}


#: the task whose chat view the chat page shows
CHAT_ID = "dialog_gym/PyDial-CR-Env1-v0"


def _write(name: str, text: str) -> None:
    """Write ``docs/_generated/<name>`` only when its text changed (Sphinx then re-reads only what changed)."""
    path = OUT / name
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _slug(env_id: str) -> str:
    return env_id.split("/")[-1]


def docstrings() -> None:
    """Each family's class docstring, as Markdown with its ``##`` sections one level down."""
    from dialog_gym.envs import DialogueEnv, SummaryActEnv
    from dialog_gym.envs.pydial_env import PyDialEnv

    for family, cls in (("dialogue", DialogueEnv), ("summary", SummaryActEnv), ("pydial", PyDialEnv)):
        doc = inspect.cleandoc(cls.__doc__ or "")
        doc = "\n".join("#" + line if line.startswith("## ") else line for line in doc.splitlines())
        _write(f"{family}_docstring.md", f"*From the docstring of* `{cls.__module__}.{cls.__qualname__}`:\n\n"
                                          f"{doc}\n")


def id_tables() -> None:
    """The registered ids of each family with their one-line setting and suites."""
    from dialog_gym.envs import REGISTRATIONS

    rows: dict[str, list[str]] = {}
    for reg in REGISTRATIONS.values():
        family = "summary" if reg.family == "summary" else reg.family
        suites = ", ".join(reg.suites) or "–"
        rows.setdefault(family, []).append(f"| `{reg.env_id}` | {reg.description} | {suites} | "
                                           f"{reg.reward_threshold if reg.reward_threshold is not None else '–'} |")
    for family, lines in rows.items():
        _write(f"ids_{family}.md", "| id | setting | suites | reward threshold |\n|---|---|---|---|\n"
               + "\n".join(lines) + "\n")


def transcripts() -> None:
    """One dialogue of the rule expert per shown id (reset seed 0), with its return and outcome."""
    import gymnasium as gym

    import dialog_gym  # noqa: F401  (registers the ids)
    from dialog_gym.rollout import expert_act

    for ids in TRANSCRIPTS.values():
        for env_id in ids:
            env = gym.make(env_id, render_mode="ansi", info_tracker=True)  # the expert reads info["tracker"]
            act = expert_act(env)
            obs, info = env.reset(seed=0)
            total, done, steps = 0.0, False, 0
            while not done:
                obs, reward, terminated, truncated, info = env.step(act(obs, info))
                total += float(reward)
                steps += 1
                done = terminated or truncated
            text = env.render()
            env.close()
            _write(f"transcript_{_slug(env_id)}.md",
                   f"`{env_id}`, the rule expert, `env.reset(seed=0)`: {steps} steps, return {total:g}, "
                   f"success {bool(info['success'])}.\n\n```text\n{text}\n```\n")


def reference_tables() -> None:
    """The shipped reference results' tables, made by the same code that made them."""
    table = (ROOT / "reference" / "small" / "table.md").read_text(encoding="utf-8")
    # table.md starts with its own "# " heading: in the results page it is a subsection
    _write("small_table.md", "###" + table[1:] if table.startswith("# ") else table)
    for name, path in (("maskable_table.md", "maskable/table.md"), ("warm_table.md", "warm/table.md"),
                       ("noisy_table.md", "noisy/table.md"), ("user_calibration.md", "user/calibration.md"),
                       ("imitation_summary.md", "imitation/summary.md")):
        text = (ROOT / "reference" / path).read_text(encoding="utf-8")
        _write(name, "###" + text[1:] if text.startswith("# ") else text)
    pydial = ROOT / "reference" / "pydial18"
    report = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pydial_report.py"), str(pydial / "results.json"),
         str(pydial / "results_maskable_ppo.json")],
        check=True, capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    _write("pydial18_tables.md", report.stdout)


#: learning-curve figures: name -> (results files under reference/, environment id)
PYDIAL18 = ["pydial18/results.json", "pydial18/results_maskable_ppo.json"]
FIGURES = {
    "small_restaurant": (["small/results.json"], "dialog_gym/Restaurant-v0"),
    "small_env3": (["small/results.json"], "dialog_gym/Restaurant-Env3-v0"),
    "pydial18_cr_env1": (PYDIAL18, "dialog_gym/PyDial-CR-Env1-v0"),
    "pydial18_cr_env3": (PYDIAL18, "dialog_gym/PyDial-CR-Env3-v0"),
}


def figures() -> None:
    """The reference results' learning curves, drawn by ``agents.benchmark.plot_curves`` (what the benchmark
    writes as ``OUT/curves_<env>.png``)."""
    import importlib.util

    from agents.benchmark import RunRecord, load_results, plot_curves

    have_matplotlib = importlib.util.find_spec("matplotlib") is not None
    for name, (files, env_id) in FIGURES.items():
        sources = ", ".join(f"`reference/{f}`" for f in files)
        if not have_matplotlib:
            _write(f"figure_{name}.md", f"*(The learning curves of `{env_id}` from {sources} are drawn when the "
                                         "site is built with the `plots` extra installed.)*\n")
            continue
        records = [RunRecord(**run) for f in files for run in load_results(ROOT / "reference" / f)["runs"]
                   if run["env"] == env_id]
        png = OUT / f"curves_{name}.png"
        plot_curves(png, records, env_id)
        _write(f"figure_{name}.md", f"![Learning curves of {env_id}](curves_{name}.png)\n\n"
                                     f"*Success on the test dialogues of `{env_id}` against training dialogues, "
                                     f"from {sources}.*\n")


def cli_help() -> None:
    """``dialog-gym --help``, as the command prints it."""
    from agents.cli import build_parser

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        build_parser().print_help()
    _write("cli_help.md", f"```text\n{buffer.getvalue().replace('python -m agents', 'dialog-gym')}```\n")


def chat() -> None:
    """The chat view of ``CHAT_ID``: its tools, and one dialogue of the rule expert as chat messages."""
    import json

    from dialog_gym import chat as chat_api

    env = chat_api.make(CHAT_ID)
    rows = ["| tool | argument | what it does |", "|---|---|---|"]
    for tool in env.tools:
        function = tool["function"]
        arguments = ", ".join(f"`{name}`" for name in function["parameters"].get("properties", {}))
        rows.append(f"| `{function['name']}` | {arguments or '–'} | {function['description']} |")
    _write("chat_tools.md", "\n".join(rows) + "\n")
    _, info = env.reset(seed=0)
    agent = chat_api.rule_agent(env)
    terminated = truncated = False
    total = 0.0
    while not (terminated or truncated):
        _, reward, terminated, truncated, info = env.step(agent(env.messages, info))
        total += reward
    system, *rest = env.messages
    lines = [json.dumps(message, ensure_ascii=False) for message in rest]
    summary = f"success: {bool(info['success'])}, return: {total:g}, turns: {info['turn']}"
    _write("chat_dialogue.md", f"The system message's content:\n\n```text\n{system['content']}\n```\n\nThen "
                               "the customer, the assistant's tool calls and the answers:\n\n```json\n"
                               + "\n".join(lines) + f"\n```\n\n({summary})\n")
    env.close()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    sys.path.insert(0, str(ROOT))
    docstrings()
    id_tables()
    transcripts()
    reference_tables()
    figures()
    cli_help()
    chat()


if __name__ == "__main__":
    main()
