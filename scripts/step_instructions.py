"""Machine instructions per environment step, counted by callgrind (the speed page's per-step counts).

Usage: PYTHONPATH=. python scripts/step_instructions.py [--env dialog_gym/Restaurant-v0] [--steps 2000] [--out F]

Runs ``dialog-gym bench-env``'s stepping loop (actions uniform over ``info["action_mask"]``, resets included
as they come) under ``valgrind --tool=callgrind`` twice, for N and 2N steps, and reports the difference per
step, so that Python's start-up, the imports and ``gym.make`` cancel out. Instruction counts hardly depend on
the machine's load (unlike times); they do depend on the CPU's instruction set, Python and numpy builds: the
output records them. Needs valgrind (``apt-get install valgrind``); about a minute per 1000 steps.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOOP = "from agents.commands.bench_env import steps_per_second; steps_per_second({env!r}, {steps}, seed=0)"


def instructions(env_id: str, steps: int) -> int:
    """Instructions (callgrind's Ir) of a Python process that makes ``env_id`` and takes ``steps`` steps."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                        LOOP.format(env=env_id, steps=steps)], check=True, capture_output=True)
        match = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(), re.MULTILINE)
        if match is None:
            raise SystemExit(f"{out}: no instruction total in callgrind's output")
        return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dialog_gym/Restaurant-v0")
    parser.add_argument("--steps", type=int, default=2000, help="N: the runs take N and 2N steps")
    parser.add_argument("--out", help="also write the result as JSON to this file")
    args = parser.parse_args()
    from agents.provenance import hardware

    few, many = instructions(args.env, args.steps), instructions(args.env, 2 * args.steps)
    result = {"env": args.env, "steps": args.steps, "instructions_per_step": (many - few) / args.steps,
              "instructions": {str(args.steps): few, str(2 * args.steps): many},
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "hardware": hardware()}
    print(f"{args.env}: {result['instructions_per_step']:,.0f} instructions per step "
          f"({args.steps} vs {2 * args.steps} steps under callgrind)")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
