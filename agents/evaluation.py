"""Story-level evaluation of a policy, teacher-forced as in Rasa Core's ``evaluate``.

Each test story is replayed event by event; before each of its executed actions the policy predicts
the next action (the arg-max of its probabilities, so an all-zero prediction counts as action 0,
``action_listen``, as Rasa's processor would execute it). A wrong prediction is recorded and the gold
action continues the story. Results: action-level accuracy, support-weighted precision, recall and F1
(computed here with numpy, the way scikit-learn's ``average="weighted"`` does), story-level accuracy
(a story counts only if every action is right), the failed stories in story format with each wrong
prediction marked ``<!-- predicted: X -->``, and a confusion-matrix plot.

The simulated evaluation (an agent against the simulated user) is :mod:`agents.evaluation_sim`.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.policy import Policy
from dialog_gym.domain import Domain
from dialog_gym.events import ActionExecuted
from dialog_gym.stories import StoryGraph, StoryStep, events_to_story
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import atomic_write, write_json

REPORT_FILE = "report.json"
FAILED_STORIES_FILE = "failed_stories.md"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"


@dataclass
class StoryEvaluation:
    """The predictions of one policy on a set of test stories."""

    policy: str
    gold: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)
    story_correct: list[bool] = field(default_factory=list)
    failed_stories: list[str] = field(default_factory=list)  # markdown, with the wrong predictions marked
    decided_by: Counter = field(default_factory=Counter)  # for ensembles: which policy decided, how often
    abstained: int = 0  # predictions with all-zero probabilities (e.g. memoization on an unseen state)

    def metrics(self) -> dict[str, Any]:
        """Action accuracy, weighted precision/recall/F1, story accuracy and the counts."""
        action = action_metrics(self.gold, self.predicted)
        n_stories = len(self.story_correct)
        return {
            "action_accuracy": action["accuracy"],
            "story_accuracy": sum(self.story_correct) / n_stories if n_stories else 0.0,
            "precision": action["precision"],
            "recall": action["recall"],
            "f1": action["f1"],
            "actions": len(self.gold),
            "correct_actions": int(sum(g == p for g, p in zip(self.gold, self.predicted, strict=True))),
            "stories": n_stories,
            "correct_stories": int(sum(self.story_correct)),
            "abstained": self.abstained,
        }


def evaluate_stories(policy: Policy, trackers: Sequence[DialogueStateTracker], domain: Domain,
                     name: str | None = None) -> StoryEvaluation:
    """Teacher-forced evaluation of ``policy`` on the test dialogues ``trackers``."""
    result = StoryEvaluation(policy=name or policy.name)
    predict_with_name = getattr(policy, "predict", None)
    for tracker in trackers:
        events = list(tracker.events)
        partial = tracker.init_copy()
        annotations: dict[int, str] = {}
        for i, event in enumerate(events):
            if isinstance(event, ActionExecuted):
                if callable(predict_with_name):  # an ensemble also says which policy decided
                    probabilities, decided = predict_with_name(partial, domain)
                    result.decided_by[decided] += 1
                else:
                    probabilities = policy.predict_action_probabilities(partial, domain)
                probabilities = np.asarray(probabilities)
                result.abstained += int(not probabilities.any())
                predicted = domain.action_for_index(int(np.argmax(probabilities)))
                result.gold.append(event.action_name)
                result.predicted.append(predicted)
                if predicted != event.action_name:
                    annotations[i] = f"predicted: {predicted}"
            partial.update(event)
        result.stories.append(tracker.sender_id)
        result.story_correct.append(not annotations)
        if annotations:
            result.failed_stories.append(events_to_story(tracker.sender_id, events, domain, annotations))
    return result


# ---------------------------------------------------------------------------------------------- metrics
def confusion_matrix(gold: Sequence[str], predicted: Sequence[str],
                     labels: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Counts ``matrix[i, j]`` of gold label ``i`` predicted as ``j``; labels sorted unless given."""
    labels = sorted(set(gold) | set(predicted)) if labels is None else list(labels)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g], index[p]] += 1
    return matrix, labels


def action_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy and support-weighted precision, recall and F1 over the labels of ``gold`` and
    ``predicted``, plus the per-label values (a label never predicted has precision 0)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        return {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "per_label": {}}
    matrix, labels = confusion_matrix(gold, predicted)
    tp = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    predicted_count = matrix.sum(axis=0).astype(np.float64)
    precision = np.divide(tp, predicted_count, out=np.zeros_like(tp), where=predicted_count > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    weights = support / support.sum()
    return {
        "accuracy": float(tp.sum() / support.sum()),
        "precision": float(weights @ precision),
        "recall": float(weights @ recall),
        "f1": float(weights @ f1),
        "per_label": {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
    }


# ---------------------------------------------------------------------------------------------- outputs
def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: str | os.PathLike,
                          title: str = "confusion matrix") -> Path:
    """Save the confusion matrix as a PNG (matplotlib's Agg canvas; no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    size = max(4.0, 0.45 * len(labels) + 2.5)
    figure = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    image = ax.imshow(matrix, interpolation="nearest", cmap="Blues")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="predicted action", ylabel="gold action",
           title=title)
    ax.set_xticklabels(labels, rotation=90, fontsize=8)
    ax.set_yticklabels(labels, fontsize=8)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                    color="white" if count > threshold else "black")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path


def write_report(evaluation: StoryEvaluation, folder: str | os.PathLike) -> dict[str, Any]:
    """Write ``report.json`` (metrics and per-action values), ``failed_stories.md`` and
    ``confusion_matrix.png`` into ``folder``; returns the metrics with the file paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = evaluation.metrics()
    per_label = action_metrics(evaluation.gold, evaluation.predicted)["per_label"]
    matrix, labels = confusion_matrix(evaluation.gold, evaluation.predicted)
    failed_path = folder / FAILED_STORIES_FILE
    with atomic_write(failed_path) as handle:
        handle.write(f"<!-- {evaluation.policy}: {len(evaluation.failed_stories)} failed of "
                     f"{metrics['stories']} stories -->\n\n")
        handle.write("\n".join(evaluation.failed_stories))
    plot_path = plot_confusion_matrix(matrix, labels, folder / CONFUSION_MATRIX_FILE,
                                      title=f"{evaluation.policy}: action accuracy "
                                            f"{100 * metrics['action_accuracy']:.2f}%")
    report = {
        "policy": evaluation.policy, **metrics, "per_action": per_label,
        "confusion_matrix": {"labels": labels, "counts": matrix.tolist()},
        "failed_stories": [s for s, ok in zip(evaluation.stories, evaluation.story_correct, strict=True) if not ok],
        "decided_by": dict(evaluation.decided_by),
        "files": {"failed_stories": str(failed_path), "confusion_matrix": str(plot_path)},
    }
    write_json(folder / REPORT_FILE, report)
    return {**metrics, "decided_by": dict(evaluation.decided_by), "report": str(folder / REPORT_FILE),
            **report["files"]}


# ---------------------------------------------------------------------------------------------- splits
def split_stories(graph: StoryGraph, n_train: int) -> tuple[StoryGraph, StoryGraph]:
    """The first ``n_train`` stories (by name, in file order) and the rest, as two graphs.

    Stories joined through checkpoints cannot be split apart; such files raise ``ValueError``.
    """
    if any(c.name != "STORY_START" for s in graph.steps for c in s.start_checkpoints + s.end_checkpoints):
        raise ValueError(f"{graph.source}: stories with checkpoints cannot be split by story")
    names: list[str] = []
    for step in graph.steps:
        if step.block_name not in names:
            names.append(step.block_name)
    if not 0 < n_train < len(names):
        raise ValueError(f"{graph.source}: cannot take {n_train} training stories of {len(names)}")
    train_names = set(names[:n_train])
    train: list[StoryStep] = [s for s in graph.steps if s.block_name in train_names]
    test: list[StoryStep] = [s for s in graph.steps if s.block_name not in train_names]
    return StoryGraph(train, f"{graph.source}[:{n_train}]"), StoryGraph(test, f"{graph.source}[{n_train}:]")

