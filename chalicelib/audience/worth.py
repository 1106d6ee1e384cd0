"""What a segment is worth: running sums and histograms of its members' predictive fields. Pure."""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

CONVERSION_BINS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001]
CLV_BINS = [0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, float("inf")]


class SegmentWorth:
    """Expected conversions (the sum of the members' conversion probabilities), expected value
    (the sum of their predicted CLV) and histograms a builder can draw; unscored members (no
    conversion potential or CLV yet) are left out."""

    def __init__(self):
        self.scored = 0
        self.expected_conversions = 0.0
        self.expected_value = 0.0
        self.conversion_counts = [0] * (len(CONVERSION_BINS) - 1)
        self.clv_counts = [0] * (len(CLV_BINS) - 1)

    def add(self, predictive: dict) -> None:
        """One member, from its document's predictive fields."""
        p, clv = predictive.get("conversion_potential"), predictive.get("clv")
        if p is None or clv is None:
            return  # not scored yet
        self.scored += 1
        self.expected_conversions += p / 100
        self.expected_value += predictive.get("clv_predicted", 0)
        self.conversion_counts[bisect_right(CONVERSION_BINS, p) - 1] += 1
        self.clv_counts[max(0, bisect_right(CLV_BINS, clv) - 1)] += 1

    def add_columns(self, conversion: np.ndarray, clv: np.ndarray, predicted: np.ndarray) -> None:
        """Many members at once, from decoded snapshot columns (NaN: no value); the same sums
        and bins as `add`."""
        scored = ~np.isnan(conversion) & ~np.isnan(clv)
        self.scored += int(scored.sum())
        self.expected_conversions += float(np.sum(conversion[scored])) / 100
        self.expected_value += float(np.nansum(predicted[scored]))
        counts = np.histogram(conversion[scored], CONVERSION_BINS)[0]
        self.conversion_counts = [a + int(b) for a, b in zip(self.conversion_counts, counts)]
        counts = np.histogram(clv[scored], CLV_BINS[:-1] + [np.finfo(float).max])[0]
        self.clv_counts = [a + int(b) for a, b in zip(self.clv_counts, counts)]

    def to_dict(self) -> dict:
        def histogram(edges, counts):
            return [
                {
                    "from": edges[i],
                    "to": None if edges[i + 1] == float("inf") else round(edges[i + 1]),
                    "count": c,
                }
                for i, c in enumerate(counts)
            ]

        return {
            "scored": self.scored,
            "expected_conversions": round(self.expected_conversions, 2),
            "expected_value": round(self.expected_value, 2),
            "histograms": {
                "conversion_potential": histogram(CONVERSION_BINS, self.conversion_counts),
                "clv": histogram(CLV_BINS, self.clv_counts),
            },
        }
