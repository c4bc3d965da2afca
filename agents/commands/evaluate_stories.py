"""``dialog-gym evaluate-stories``: train policies on stories and evaluate them on held-out stories.

Teacher-forced, as Rasa Core's evaluation: action accuracy, weighted precision/recall/F1, story
accuracy; per policy, ``DIR/<policy>/`` receives ``report.json``, ``failed_stories.md`` (the wrong
predictions marked) and ``confusion_matrix.png``; ``DIR/summary.json`` holds every policy's metrics.
"""

from __future__ import annotations

import argparse

from agents.commands.common import UsageError, check_readable, check_story_count, format_table, positive_int, print_json
from agents.commands.training_args import add_training_arguments, training_options

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("rl", "plots")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate-stories", help="train policies on stories, evaluate them on held-out stories",
                       description=" ".join(__doc__.split("\n\n")[1].split()))
    p.add_argument("--train", required=True, metavar="FILE", help="training stories (file or folder)")
    p.add_argument("--test", metavar="FILE", help="test stories (file or folder)")
    p.add_argument("--split", type=positive_int, metavar="N",
                   help="instead of --test: train on the first N stories of --train, test on the rest")
    p.add_argument("--policies", default="memo,augmented,supervised,ensemble",
                   help="comma-separated: memo, augmented, supervised, ensemble")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the reports")
    p.add_argument("--json", action="store_true", help="print one JSON object {\"policies\": {NAME: metrics}}")
    add_training_arguments(p)
    p.set_defaults(func=run, extras=EXTRAS)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from agents.evaluation import evaluate_stories, split_stories, write_report
    from agents.policy_training import parse_policy_list, train_policies
    from dialog_gym.domain import Domain
    from dialog_gym.errors import DialogGymError
    from dialog_gym.stories import generate_trackers, read_stories
    from dialog_gym.utils import write_json

    if (args.test is None) == (args.split is None):
        raise UsageError("give either --test FILE or --split N")
    try:
        names = parse_policy_list(args.policies)
    except DialogGymError as exc:
        raise UsageError(f"--policies: {exc}") from None
    for path in (args.train, args.test):
        if path is not None:
            check_readable(path, "a Rasa markdown story file", folder_ok=True)
    options = training_options(args)
    domain = Domain.load(args.domain or "restaurant")
    if args.split is not None:
        try:
            train_graph, test_graph = split_stories(read_stories(args.train), args.split)
        except ValueError as exc:
            raise UsageError(f"--split: {exc}") from None
    else:
        train_graph, test_graph = read_stories(args.train), read_stories(args.test)
    check_story_count(train_graph, args.train)
    check_story_count(test_graph, args.test or args.train)
    start = time.perf_counter()
    train_trackers = generate_trackers(train_graph, domain, augmentation_factor=args.augmentation, seed=42 + args.seed)
    test_trackers = generate_trackers(test_graph, domain, augmentation_factor=0)
    data_seconds = time.perf_counter() - start

    out = Path(args.out)
    results: dict[str, dict] = {}
    for name, (policy, seconds) in train_policies(names, train_trackers, domain, options).items():
        start = time.perf_counter()
        evaluation = evaluate_stories(policy, test_trackers, domain, name=name)
        metrics = write_report(evaluation, out / name)
        results[name] = {**metrics, "train_seconds": round(seconds, 3),
                         "eval_seconds": round(time.perf_counter() - start, 3)}
    summary = {"policies": results, "train": str(train_graph.source), "test": str(test_graph.source),
               "domain": str(domain.source), "train_dialogues": len(train_trackers),
               "test_stories": len(test_trackers), "data_seconds": round(data_seconds, 3),
               "options": vars(options)}
    write_json(out / "summary.json", summary)
    if args.json:
        print_json({"policies": results})
        return 0
    rows = [[name, f"{100 * r['action_accuracy']:.2f}%", f"{100 * r['story_accuracy']:.1f}%",
             f"{r['f1']:.4f}", f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['train_seconds']:.1f}"]
            for name, r in results.items()]
    print(format_table(["policy", "action accuracy", "story accuracy", "F1", "precision", "recall", "train s"],
                       rows))
    print(f"\n{len(train_trackers)} training dialogues ({train_graph.source}), {len(test_trackers)} test stories "
          f"({test_graph.source}); reports in {out}/<policy>/")
    return 0
