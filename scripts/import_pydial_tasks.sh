#!/usr/bin/env bash
# Regenerate the shipped PyDial tasks (configs/pydial/<Domain>/) from PyDial's ontologies and tables.
# Usage: scripts/import_pydial_tasks.sh [SOURCE_DIR]   (default: the repository's data/pydial)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
src="${1:-$here/data/pydial}"
python="${PYTHON:-python}"
for pair in CamRestaurants:CR SFRestaurants:SFR Laptops11:LAP; do
  name="${pair%%:*}"; prefix="${pair##*:}"
  "$python" -m agents domain import-pydial "$src/$name-rules.json" "$src/$name-dbase.db" \
    --out "$here/configs/pydial/$name" --id-prefix "$prefix" --force
done
