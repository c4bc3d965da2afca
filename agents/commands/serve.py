"""``dialog-gym serve``: teach the bot in a browser. The same correction session and durable log as
``dialog-gym interactive``, shown as a web page (needs the ``web`` extra: ``pip install 'dialog-gym[web]'``).

Security: the server binds 127.0.0.1 unless told otherwise, and every API request must carry a token
in a header. On loopback without ``--token`` the server makes a random token for the run and embeds
it in the page it serves (anyone who can open the page on this machine can use it; other sites cannot
read it). Any other ``--host`` needs ``--token`` (the page then asks for it, or takes ``#token=...``).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import socket
from pathlib import Path

from agents.commands.common import (
    DEFAULT_ENV,
    UsageError,
    check_output,
    dialogue_count,
    env_arg,
    nonnegative_int,
    port,
    run_seed,
)
from dialog_gym.errors import DialogGymError

MAKE_TOKEN = "python -c \"import secrets; print(secrets.token_urlsafe(32))\""

#: the optional extras this command needs (checked before it starts; see agents/extras.py)
EXTRAS = ("web", "rl")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="teach the bot in a browser (the interactive session as a web page)",
                       description="A web page on the correction session of `dialog-gym interactive`: the "
                                   "dialogue, the tracker, the bot's ranked proposals; accept (Enter), pick "
                                   "(1-9 or click), undo (u), reset (r); a live chart of corrections and of the "
                                   "bot's success alone; export as Rasa stories or Minari. Each browser session "
                                   "has its own log and learner under OUT/sessions/<id>/; restarting the server "
                                   "resumes them all.")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--scratch", dest="start", action="store_const", const="scratch",
                       help="new sessions start from an untrained bot (the default)")
    start.add_argument("--pretrained", dest="start", action="store_const", const="pretrained",
                       help="new sessions start from a bot trained on the expert's simulated dialogues")
    start.add_argument("--policy", metavar="DIR", help="new sessions start from this saved supervised policy "
                                                       "(`dialog-gym train-policy` output)")
    p.add_argument("--env", type=env_arg, default=DEFAULT_ENV,
                   help="environment of new sessions: a short id, a full id or an env config YAML path "
                        "(Restaurant-Env2-v0: masks off, every action allowed, more to correct)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the sessions (OUT/sessions/<id>/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; anything but loopback needs --token")
    p.add_argument("--port", type=port, default=8000, help="port (0: any free port)")
    p.add_argument("--token", help="the token every API request must carry (default on loopback: a random one, "
                                   f"embedded in the page); make one with: {MAKE_TOKEN}")
    p.add_argument("--seed", type=run_seed, default=0, help="seed of the fake users and of the learner")
    p.add_argument("--retrain-every", type=nonnegative_int, default=1, metavar="K",
                   help="retrain the bot after every K corrections (0: only at the end of each dialogue, as "
                        "`dialog-gym imitate` does)")
    p.add_argument("--eval-every", type=nonnegative_int, default=2, metavar="N",
                   help="evaluate the bot alone after every N finished dialogues, for the chart (0: never)")
    p.add_argument("--eval-episodes", type=dialogue_count, default=100, metavar="N",
                   help="dialogues of each evaluation (the evaluation `dialog-gym imitate` reports)")
    p.set_defaults(func=run, extras=EXTRAS)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    loopback = is_loopback(args.host)
    if not loopback and not args.token:
        raise UsageError(f"--host {args.host} is reachable from other machines: give --token TOKEN too (make one "
                         f"with: {MAKE_TOKEN})")
    if args.token is not None and len(args.token) < 16:
        raise UsageError(f"--token is too short ({len(args.token)} characters; at least 16): make one with: "
                         f"{MAKE_TOKEN}")
    if args.policy and not Path(args.policy).is_dir():
        raise UsageError(f"--policy {args.policy}: no such folder")
    import torch

    from dialog_gym.utils import exclusive_folder

    check_output(args.out, "--out", folder=True)
    args.env.make().close()  # a broken env config fails now
    torch.set_num_threads(1)  # tiny networks: one thread is fastest, and sessions run side by side
    with listening_socket(args.host, args.port) as sock:  # a port we cannot have fails before OUT is touched
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with exclusive_folder(out, "dialog-gym serve"):  # two servers would append to the same session logs
            return serve(args, out, loopback, sock)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` for the server, or the package's error in one line (the port is
    taken, the address is not this machine's, ...): an environment problem, exit status 1."""
    name = host.strip("[]")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise DialogGymError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (--host)") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart reuses the port at once
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = (": another program listens there; choose another --port (0: any free port)"
                if exc.errno == errno.EADDRINUSE else "")
        raise DialogGymError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    return sock


def serve(args: argparse.Namespace, out: Path, loopback: bool, sock: socket.socket) -> int:
    """Run the server on ``out`` (held by this process) and ``sock`` (bound) until it is stopped."""
    import uvicorn

    from agents.web.app import LOOPBACK_HOSTS, create_app
    from agents.web.sessions import SessionOptions

    options = SessionOptions(env=args.env.to_json(), start="policy" if args.policy else args.start or "scratch",
                             policy=str(Path(args.policy).resolve()) if args.policy else None, seed=args.seed,
                             retrain_every=args.retrain_every or None, eval_every=args.eval_every,
                             eval_episodes=args.eval_episodes)
    app = create_app(out, options, args.token, embed_token=args.token is None,
                     allowed_hosts=list(LOOPBACK_HOSTS) if loopback else None)
    resumed = sorted(app.state.manager.sessions)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    shown = f"[{args.host}]" if ":" in args.host else args.host

    def announce() -> None:
        url = f"http://{shown}:{sock.getsockname()[1]}/"
        if args.token is None:
            print(f"dialog-gym serve: open {url} (token for API clients: {app.state.token})", flush=True)
        else:
            print(f"dialog-gym serve: open {url}#token=YOUR_TOKEN (the --token you gave)", flush=True)
        if resumed:
            print(f"resuming {len(resumed)} session(s) from {out / 'sessions'}: {', '.join(resumed)}", flush=True)

    original = server.startup

    async def startup(sockets: list | None = None) -> None:
        await original(sockets=sockets)
        announce()

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run(sockets=[sock])
    except SystemExit as exc:  # uvicorn ends a failed start-up with sys.exit(3): our status is 1, one line
        raise DialogGymError(f"the server did not start on {args.host}:{args.port} (uvicorn status {exc.code})") \
            from None
    if not server.started:
        raise DialogGymError(f"the server did not start on {args.host}:{args.port}")
    return 0
