"""``dialog-gym domain``: turn other toolkits' task definitions into dialog_gym task directories."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.commands.common import check_output, check_readable, print_json
from dialog_gym.errors import DialogGymError
from dialog_gym.utils import atomic_folder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("domain", help="import task definitions (PyDial ontologies) as task directories")
    dsub = p.add_subparsers(dest="domain_command", required=True, metavar="SUBCOMMAND")
    i = dsub.add_parser(
        "import-pydial", help="a PyDial ontology (rules JSON) and its SQLite table -> a task directory",
        description="Convert a PyDial ontology (<Domain>-rules.json: informable, requestable, system_requestable) and "
                    "its SQLite table (<Domain>-dbase.db) into a task directory: domain.yml (Rasa domain: user acts, "
                    "slots, PyDial's summary acts), table.csv, users/standard.yml and users/unfriendly.yml "
                    "(PyDial's user parameters), env.yml (registers Env1-Env6) and NOTICE (PyDial's Apache-2.0 "
                    "notice). Run one of its settings with gym.make('dialog_gym/Dialogue-v0', config='DIR/env.yml', "
                    "variant='Env3') or --env DIR/env.yml:Env3 (without a variant: the file's own settings).")
    i.add_argument("rules", metavar="RULES.json", help="the PyDial ontology")
    i.add_argument("database", metavar="DBASE.db", help="the PyDial SQLite database")
    i.add_argument("--out", required=True, metavar="DIR",
                   help="task directory to write (created if missing; an existing non-empty one needs --force)")
    i.add_argument("--force", action="store_true",
                   help="replace an existing --out folder: its old content goes, once the new task is complete")
    i.add_argument("--id-prefix", default=None,
                   help="ids become dialog_gym/PyDial-<PREFIX>-Env<n>-v0 (default: the capitals of the domain's "
                        "name, e.g. CR for CamRestaurants)")
    i.add_argument("--name", default=None, help="the domain's name (default: the rules file's name)")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(func=import_pydial)


def import_pydial(args: argparse.Namespace) -> int:
    from dialog_gym.envs import NAMESPACE
    from dialog_gym.families import read_registrations
    from dialog_gym.pydial.importer import import_pydial as convert
    from dialog_gym.pydial.task import load_task

    check_readable(args.rules, "a PyDial rules JSON file")
    check_output(args.out, "--out", folder=True)
    out = Path(args.out)
    if out.is_dir() and any(out.iterdir()) and not args.force:
        what = "a task folder" if (out / "env.yml").exists() else "a folder that is not empty"
        raise DialogGymError(f"{out}: is {what} already: add --force to replace it, or name another --out")
    with atomic_folder(out) as tmp:  # all or nothing: a failed import leaves the old folder as it was
        convert(args.rules, args.database, tmp, id_prefix=args.id_prefix, name=args.name)
    env_file = out / "env.yml"
    task, _, _ = load_task(env_file)
    ids = [r.env_id for r in read_registrations(env_file, NAMESPACE, str(env_file))]
    summary = {"config": str(env_file), "name": task.name, "actions": len(task.actions), "rows": len(task.rows),
               "system_requestable": list(task.system_requestable), "ids": ids}
    if args.json:
        print_json(summary)
    else:
        print(f"{env_file}: {task.name}, {len(task.rows)} rows, {len(task.actions)} summary acts, "
              f"{len(task.system_requestable)} system-requestable slots; ids {ids[0]} ... {ids[-1]} "
              f"(register with dialog_gym.register_task, or run one with --env {env_file}:Env3)")
    return 0
