"""Regenerate configs/kb/hotels.csv, the table of the hotel-booking task (dialog_gym/Hotel-v0).

Unlike the restaurant table, this one does not have every combination: about a third of the
(city, stars, budget) combinations have no hotel at all, five-star hotels are never cheap, and rooms
sleep 1-4 guests, so some goals fit no row and the bot has to say so (``utter_no_match``) while the
guest relaxes a constraint. Present combinations have 2-6 hotels. Deterministic (fixed seed).

    python scripts/make_hotel_table.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dialog_gym.utils import atomic_write

CITIES = ["berlin", "lisbon", "oslo", "vienna"]
STARS = ["three", "four", "five"]
BUDGETS = ["low", "mid", "high"]
MISSING_SHARE = 0.3  # of the combinations that are possible at all


def main() -> None:
    rng = np.random.default_rng(2024)
    out = Path(__file__).resolve().parent.parent / "configs" / "kb" / "hotels.csv"
    rows = []
    for city in CITIES:
        for stars in STARS:
            for budget in BUDGETS:
                skip = rng.random() < MISSING_SHARE
                count = int(rng.integers(2, 7))
                if skip or (stars == "five" and budget == "low"):
                    continue
                for n in range(count):
                    rows.append({
                        "name": f"hotel_{city}_{stars}_{budget}_{n + 1}",
                        "city": city, "stars": stars, "budget": budget,
                        "max_guests": int(rng.integers(2, 5)), "rating": int(rng.integers(1, 11)),
                    })
    with atomic_write(out) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} hotels to {out}")


if __name__ == "__main__":
    main()
