#!/usr/bin/env bash
# The one-off measurements behind the documentation's other tables (docs/results/*.md), each into OUT/<name>:
# rule and random on every id, the rule expert on the summary-act and hotel ids and on the car-rental task,
# environment speed against Taxi, instructions per step, PyDial's tasks, the user calibration and the bAbI
# baselines. The benchmark runs are scripts/benchmark_runs.sh.
#   bash scripts/measurements.sh [OUT]      (default OUT: results/measurements)
# About 40 minutes on 2 CPU cores (valgrind's instruction counts and the bAbI baselines are the long ones).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/measurements}
DG=${DG:-.venv/bin/dialog-gym}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"

# rule and random on every registered id, 500 dialogues each, seed 0 (the six restaurant settings' table)
$DG demo --episodes 500 --json > "$OUT/demo.json"
# the rule expert on the six summary-act settings, the hotel ids and the car-rental task (seeds 0-499)
for id in dialog_gym/Restaurant-Summary-Env{1,2,3,4,5,6}-v0 dialog_gym/Hotel-v0 dialog_gym/Hotel-NoMasks-v0 \
          dialog_gym/Hotel-Noisy-v0 tests/data/car_rental/env.yml; do
  name=$(basename "${id%.yml}" | tr '/' '_')
  [[ $id == *.yml ]] && name=car_rental
  $DG rollout --env "$id" --policy rule --episodes 500 --json > "$OUT/rule_${name}.json"
done
# environment steps per second against Taxi-v4 (CPU time; compare ratios, not steps per second)
$DG bench-env --json > "$OUT/bench_env.json"
# instructions per step under callgrind (needs valgrind)
PYTHONPATH=. $PY scripts/step_instructions.py --out "$OUT/step_instructions.json"
# PyDial's tasks: the handcrafted expert and random agents on the 18 tasks, and the expert's speed
PYTHONPATH=. $PY scripts/pydial_measure.py --out "$OUT/pydial_measure.json"
# the simulated user against the bAbI stories
PYTHONPATH=. $PY scripts/calibrate_user.py > "$OUT/calibrate_user.txt"
# offline accuracy against closed-loop success of the Rasa policies on the bAbI stories
PYTHONPATH=. $PY scripts/exposure_bias.py --babi data/rasa_babi/babi_stories.md --out "$OUT/exposure"
