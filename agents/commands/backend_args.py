"""Command-line options shared by ``benchmark`` and ``tune``: where the work runs (serially or on Ray)."""

from __future__ import annotations

import argparse

from agents.commands.common import UsageError, positive_int


def add_backend_arguments(p: argparse.ArgumentParser, unit: str) -> None:
    """``--backend``, ``--address`` and ``--workers``; ``unit`` names what one Ray task runs."""
    p.add_argument("--backend", choices=["serial", "ray"], default="serial",
                   help=f"serial: one {unit} after another in this process; ray: each {unit} a Ray task, on a local "
                        "instance (--workers CPUs, 127.0.0.1 only) or the cluster at --address "
                        "(pip install 'dialog-gym[ray]')")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="with --backend ray: an existing Ray cluster ('auto': the one 'ray start --head' made on "
                        "this machine); every node needs dialog-gym installed")
    p.add_argument("--workers", type=positive_int,
                   help="with --backend ray and no --address: CPUs of the local Ray instance (default: all cores)")


def check_backend_arguments(args: argparse.Namespace) -> None:
    """Usage errors for options that do not go together; the package's error if Ray is asked for but absent."""
    from agents.cells import import_ray

    if args.backend != "ray" and (args.address or args.workers):
        raise UsageError("--address and --workers go with --backend ray")
    if args.address and args.workers:
        raise UsageError("--workers sizes a local Ray instance; with --address the cluster's size applies")
    if args.backend == "ray":
        import_ray()
