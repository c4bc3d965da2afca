#!/usr/bin/env bash
# The benchmark runs behind the documentation's result tables (several hours on 2 CPU cores in all; the
# quick one-off measurements are scripts/measurements.sh).
#   bash scripts/benchmark_runs.sh [OUT]      (default OUT: results)
# Each line is independent; run the one you need. Outputs: OUT/<name>/table.md, results.json, curves.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results}
DG=${DG:-.venv/bin/dialog-gym}

# the README's main job: every agent, Restaurant-v0 and Env3, 2 seeds, 1000 dialogues (~5 min)
$DG benchmark --budget small --out "$OUT/small"
# MaskablePPO on Restaurant-v0: every one of 5 seeds, 4000 dialogues (~3 min)
$DG benchmark --suite default --agents rule,maskable_ppo --seeds 5 \
    --batches 250,500,1000,2000,3000,4000 --episodes 200 --out "$OUT/maskable"
# warm start: conservative against naive, 3 seeds, 4000 dialogues (~3 min)
$DG benchmark --suite default --agents ppo_warm,ppo_warm_naive --seeds 3 \
    --batches 250,500,1000,2000,3000,4000 --episodes 200 --out "$OUT/warm"
# the masked noisy environments: MaskablePPO against the rule expert (~2 min)
$DG benchmark --suite noisy --agents rule,maskable_ppo --seeds 2 --batches 500,1000,2000 --episodes 200 \
    --out "$OUT/noisy"
# reproducibility: the same command twice, compared number by number
$DG benchmark --suite default --agents maskable_ppo,supervised --seeds 1 --batches 250 --episodes 100 \
    --out "$OUT/det1"
$DG benchmark --suite default --agents maskable_ppo,supervised --seeds 1 --batches 250 --episodes 100 \
    --out "$OUT/det2" --compare "$OUT/det1/results.json"
# PyDial's full protocol on the six environments, 3 seeds instead of 10 (~1.5 hours)
$DG benchmark --budget full --seeds 3 --out "$OUT/full3"
# the summary-act settings without masks (Env2, Env4): random, rule, PPO and DQN, 3 seeds, PyDial's batches and
# 500 test dialogues (~1 hour on a loaded 2-core machine); the docs' "RL on the unmasked settings" table
$DG benchmark --envs dialog_gym/Restaurant-Summary-Env2-v0,dialog_gym/Restaurant-Summary-Env4-v0 \
    --agents random,rule,ppo,dqn --seeds 3 --batches 1000,2000,3000,4000 --episodes 500 --out "$OUT/summary"
# the benchmark on Ray against serially: the small budget both ways, every cell computed (--fresh), back to back
# on an otherwise idle machine; each results.json's history holds the wall time, and both are compared with the
# reference (~15 minutes on 2 cores)
$DG benchmark --budget small --backend ray --workers 2 --fresh --out "$OUT/small_ray" \
    --compare reference/small/results.json
$DG benchmark --budget small --fresh --out "$OUT/small_serial" --compare reference/small/results.json
# PyDial's 18 tasks: random, the HDC expert, PPO and DQN from scratch, 3 seeds, PyDial's batches (about 4
# CPU-hours on a loaded 2-core machine), then MaskablePPO on the 12 masked tasks (about 1 CPU-hour);
# `python scripts/pydial_report.py OUT/pydial18 OUT/pydial18_masked` prints the README's tables
$DG benchmark --suite pydial18 --agents random,rule,ppo,dqn --seeds 3 --batches 1000,2000,3000,4000 \
    --episodes 500 --backend ray --workers 2 --out "$OUT/pydial18"
$DG benchmark --envs "$(echo PyDial-{CR,SFR,LAP}-Env{1,3,5,6}-v0 | tr ' ' ,)" --agents maskable_ppo --seeds 3 \
    --batches 1000,2000,3000,4000 --episodes 500 --backend ray --workers 2 --out "$OUT/pydial18_masked"
