"""Regenerate configs/kb/restaurants.csv, the restaurant table of the restaurant task.

bAbI-style names (``resto_<location>_<price>_<cuisine>_<n>``); eight restaurants for every
(cuisine, location, price), so every goal has at least six matches even for a party of eight (the
simulated user may reject up to five matching suggestions, as in the bAbI stories). Deterministic.

    python scripts/make_restaurant_table.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CUISINES = ["british", "french", "indian", "italian", "spanish"]
LOCATIONS = ["bombay", "london", "madrid", "paris", "rome"]
PRICES = ["cheap", "moderate", "expensive"]
SEATS = [8, 8, 8, 8, 8, 8, 6, 4]  # per combination, shuffled


def main() -> None:
    rng = np.random.default_rng(2017)
    out = Path(__file__).resolve().parent.parent / "configs" / "kb" / "restaurants.csv"
    rows = []
    for location in LOCATIONS:
        for price in PRICES:
            for cuisine in CUISINES:
                seats = rng.permutation(SEATS)
                ratings = rng.permutation(np.arange(1, 9))
                for n in range(8):
                    rows.append({
                        "name": f"resto_{location}_{price}_{cuisine}_{n + 1}",
                        "cuisine": cuisine, "location": location, "price": price,
                        "seats": int(seats[n]), "rating": int(ratings[n]),
                        "phone": f"resto_{location}_{price}_{cuisine}_{n + 1}_phone",
                    })
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} restaurants to {out}")


if __name__ == "__main__":
    main()
