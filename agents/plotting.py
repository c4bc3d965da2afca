"""What the plots share: each agent's colour and marker, the same in every panel and every figure (the
benchmark's learning curves, the correction loop's curve)."""

from __future__ import annotations

from collections.abc import Sequence

#: each known agent's colour and marker, the same in every panel and every plot (families in related hues
#: would be hard to tell apart: these are tab10's colours, black and grey for the fixed baselines, and navy)
AGENT_STYLES: dict[str, tuple[str, str]] = {
    "random": ("#7f7f7f", "o"), "rule": ("#000000", "s"),
    "memo": ("#1f77b4", "D"), "augmented": ("#17becf", "^"), "supervised": ("#9467bd", "v"),
    "ensemble": ("#e377c2", "P"),
    "ppo": ("#ff7f0e", "X"), "maskable_ppo": ("#2ca02c", "*"), "a2c": ("#d62728", "h"), "dqn": ("#8c564b", "p"),
    "maskable_dqn": ("#e6550d", "d"),
    "ppo_warm": ("#bcbd22", "<"), "ppo_warm_naive": ("#08306b", ">"),
}
#: colours of agents not in AGENT_STYLES (in the order of the run's agents): tab20's lighter shades
OTHER_COLOURS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")


def agent_styles(agents: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Colour and marker of each agent: a known agent's own (:data:`AGENT_STYLES`), whichever other agents
    run; the others', in the order given, from :data:`OTHER_COLOURS` (pass the run's whole agent list so that
    every plot of the run agrees)."""
    others = [a for a in dict.fromkeys(agents) if a not in AGENT_STYLES]
    return {a: AGENT_STYLES.get(a) or (OTHER_COLOURS[others.index(a) % len(OTHER_COLOURS)], "o") for a in agents}


__all__ = ["AGENT_STYLES", "OTHER_COLOURS", "agent_styles"]
