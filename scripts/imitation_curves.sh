#!/usr/bin/env bash
# Learning curves of the correction loop: `dialog-gym imitate` from scratch (20 corrected
# dialogues), from the pretrained policy (5), from a policy trained on the bAbI stories (10), and the
# behaviour-cloning baseline (the teacher's own rollouts, no corrections) with the same budgets; on
# several seeds, 100 evaluation dialogues after each corrected one. Then a summary table.
#
#   scripts/imitation_curves.sh [OUT_DIR] [SEEDS...]
#   EXTRA=1 scripts/imitation_curves.sh results/imitation 0 1 2
#
# BABI names the bAbI stories file (default: the repository's data/rasa_babi/babi_stories.md; the
# runs that need it are skipped if it is missing: the package never needs it). EXTRA=1 adds the
# harder setting without action masks (Restaurant-Env2-v0), every start, and DAgger with beta 0.5; NOISY=1
# the setting with 15% NLU errors and no masks (Restaurant-Env4-v0). DIALOG_GYM overrides the command.
set -euo pipefail
OUT=${1:-results/imitation}
shift || true
SEEDS=${*:-0 1 2}
DG=${DIALOG_GYM:-dialog-gym}
BABI=${BABI:-$(cd "$(dirname "$0")/.." && pwd)/data/rasa_babi/babi_stories.md}
EVAL=${EVAL:-100}
mkdir -p "$OUT"

run() {  # name, then imitate arguments
  local name=$1; shift
  for seed in $SEEDS; do
    local dir="$OUT/${name}_seed${seed}"
    echo "== $name seed $seed"
    # --reuse: a curve.json made from the same inputs (settings, code, env config and data, versions) is kept;
    # one made from other inputs is recomputed, and the command says what changed
    $DG imitate --teacher scripted "$@" --seed "$seed" --eval-episodes "$EVAL" --out "$dir" --quiet --reuse
  done
}

run scratch_correct    --start scratch --dialogues 20
run scratch_bc         --start scratch --dialogues 20 --mode bc
run pretrained_correct --start pretrained --dialogues 5
run pretrained_bc      --start pretrained --dialogues 5 --mode bc
if [[ -f "$BABI" ]]; then
  run babi_correct     --start pretrained --stories "$BABI" --dialogues 10
  run babi_bc          --start pretrained --stories "$BABI" --dialogues 10 --mode bc
else
  echo "bAbI stories not found at $BABI: skipping the bAbI curves"
fi
# the four curves (scratch and pretrained, corrected and behaviour-cloned) and the bAbI pair for one setting
curves_in() {  # PREFIX ENV_ID
  local prefix=$1 env=$2
  run "${prefix}_scratch_correct"    --env "$env" --start scratch --dialogues 20
  run "${prefix}_scratch_bc"         --env "$env" --start scratch --dialogues 20 --mode bc
  run "${prefix}_pretrained_correct" --env "$env" --start pretrained --dialogues 5
  run "${prefix}_pretrained_bc"      --env "$env" --start pretrained --dialogues 5 --mode bc
  if [[ -f "$BABI" ]]; then
    run "${prefix}_babi_correct"     --env "$env" --start pretrained --stories "$BABI" --dialogues 10
    run "${prefix}_babi_bc"          --env "$env" --start pretrained --stories "$BABI" --dialogues 10 --mode bc
  fi
}
if [[ "${EXTRA:-0}" == 1 ]]; then  # without action masks the learner must learn the whole flow itself
  curves_in nomask dialog_gym/Restaurant-Env2-v0
  # DAgger proper: the learner's own proposal is executed half of the time (its own mistakes visited)
  run nomask_scratch_dagger05 --env dialog_gym/Restaurant-Env2-v0 --start scratch --dialogues 20 --beta 0.5
fi
if [[ "${NOISY:-0}" == 1 ]]; then  # 15% NLU errors, no masks: the user's messages are sometimes misheard
  curves_in noisy dialog_gym/Restaurant-Env4-v0
fi

${PYTHON:-python3} - "$OUT" <<'PY'
"""Summary: per run, success of the learner alone at each budget and the corrections per dialogue."""
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows, table = [], {}
for path in sorted(out.glob("*_seed*/curve.json")):
    r = json.loads(path.read_text())
    name = path.parent.name.rsplit("_seed", 1)[0]
    curve = r["curve"]
    first95 = next((p["dialogues"] for p in curve if p["success_rate"] >= 0.95), None)
    below = [p["dialogues"] for p in curve if p["success_rate"] < 0.95]
    stable95 = None if below and below[-1] == curve[-1]["dialogues"] else (below[-1] + 1 if below else 0)
    rows.append({"run": name, "env": r["env"], "seed": r["seed"], "start": curve[0]["success_rate"],
                 "final": curve[-1]["success_rate"], "dialogues": r["dialogues"], "first_at_95": first95,
                 "stays_95_from": stable95, "beta": r["beta"], "mode": r["mode"],
                 "success": [p["success_rate"] for p in curve], "corrections": [p["corrections"] for p in curve[1:]],
                 "seconds": r["seconds"]})
(out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
lines = ["| run | env | seed | success at 0 | final | first >= 95% after | >= 95% from then on | "
         "corrections per dialogue | s |", "|---|---|---|---|---|---|---|---|---|"]
for x in rows:
    lines.append(f"| {x['run']} | {x['env'].split('/')[-1]} | {x['seed']} | {x['start']:.0%} | {x['final']:.0%} "
                 f"(after {x['dialogues']}) | {x['first_at_95'] if x['first_at_95'] is not None else 'never'} | "
                 f"{x['stays_95_from'] if x['stays_95_from'] is not None else 'no'} | "
                 f"{' '.join(str(c) for c in x['corrections'])} | {x['seconds']:.0f} |")
# mean over seeds, per run: success of the learner alone after k dialogues, corrections per dialogue
groups = {}
for x in rows:
    groups.setdefault(x["run"], []).append(x)
ks = (0, 1, 2, 3, 5, 10, 20)
lines += ["", "Mean over seeds (success of the learner alone after k teacher dialogues; corrections per dialogue "
          "in dialogues 1-5 and in the last 5):", "",
          "| run | env | seeds | " + " | ".join(f"k={k}" for k in ks) + " | corr. 1-5 | corr. last 5 |",
          "|---|---|---|" + "---|" * (len(ks) + 2)]
for name, xs in groups.items():
    cells = []
    for k in ks:
        vals = [x["success"][k] for x in xs if k < len(x["success"])]
        cells.append(f"{sum(vals) / len(vals):.0%}" if len(vals) == len(xs) else "")
    first5 = [c for x in xs for c in x["corrections"][:5]]
    last5 = [c for x in xs for c in x["corrections"][-5:]]
    lines.append(f"| {name} | {xs[0]['env'].split('/')[-1]} | {len(xs)} | " + " | ".join(cells)
                 + f" | {sum(first5) / len(first5):.1f} | {sum(last5) / len(last5):.1f} |")
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
