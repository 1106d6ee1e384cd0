"""How soon the persuasion type fills up, on the generator's visitors.

Each visitor of chalicelib/synthetic.py has a planted principle. A shop's loop is simulated: at
each exposure one principle is shown, chosen by Thompson sampling from the visitor's posterior
(what GET /profiles/{id}/persuasion returns as `next`) or uniformly at random, and the visitor
responds with probability OWN if it is their principle, else OTHER (a realistic effect: 12 % vs
8 %; the generator's own 35 % vs 6 % for comparison). After 5, 10, 20 and 50 exposures: the share
of visitors given a type (coverage) and the share of those whose type is the planted one
(precision; chance is 1/6), at the field's rule and at looser confidence thresholds.

    .venv/bin/python bench/persuasion_coverage.py [--visitors 3000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib import synthetic  # noqa: E402
from chalicelib.predict import persuasion  # noqa: E402
from chalicelib.predict.fields import PERSUASION_TYPES  # noqa: E402

CHECKPOINTS = (5, 10, 20, 50)
CONFIDENCES = (persuasion.MIN_CONFIDENCE, 0.65, 0.5)


def planted(n: int, seed: int) -> np.ndarray:
    """The generator's planted principles, as column numbers."""
    visitors = synthetic.generate(n, seed=seed, days=30)
    return np.array([PERSUASION_TYPES.index(v.persuasion_type) for v in visitors])


def simulate(truth, own, other, policy, rng, prior):
    """Counts after each checkpoint: {exposures: (shown, responded)}."""
    n, k = len(truth), len(PERSUASION_TYPES)
    shown, responded = np.zeros((n, k)), np.zeros((n, k))
    rows = np.arange(n)
    out = {}
    for step in range(1, max(CHECKPOINTS) + 1):
        if policy == "thompson":
            a, b = persuasion.posterior(shown, responded, prior)
            choice = np.argmax(rng.beta(a, b), axis=1)
        else:
            choice = rng.integers(0, k, n)
        rate = np.where(choice == truth, own, other)
        shown[rows, choice] += 1
        responded[rows, choice] += rng.random(n) < rate
        if step in CHECKPOINTS:
            out[step] = (shown.copy(), responded.copy())
    return out


def judged(truth, shown, responded, prior, confidence):
    best, conf = persuasion._best(shown, responded, prior)
    typed = (shown.sum(axis=1) >= persuasion.MIN_SHOWN) & (conf >= confidence)
    right = typed & (best == truth)
    precision = right.sum() / typed.sum() if typed.any() else float("nan")
    return typed.mean(), precision


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    truth = planted(args.visitors, args.seed)
    print(
        f"{args.visitors} generated visitors (seed {args.seed}); the field's rule: "
        f"{persuasion.MIN_SHOWN}+ exposures, confidence {persuasion.MIN_CONFIDENCE}, prior "
        f"strength {persuasion.PRIOR_STRENGTH:g} at the population rate; chance precision 0.167"
    )
    for own, other in ((0.12, 0.08), (0.35, 0.06)):
        prior = np.full(len(PERSUASION_TYPES), (own + 5 * other) / 6)
        print(f"\n== response {own:.0%} to the own principle vs {other:.0%} to the others")
        header = "".join(f"  conf {c:<4} cover/prec" for c in CONFIDENCES)
        print(f"{'policy':10}{'exposures':>10}{header}   own share")
        for policy in ("thompson", "uniform"):
            rng = np.random.default_rng(args.seed)
            for step, (shown, responded) in simulate(truth, own, other, policy, rng, prior).items():
                cells = [judged(truth, shown, responded, prior, c) for c in CONFIDENCES]
                own_share = shown[np.arange(len(truth)), truth].sum() / shown.sum()
                print(
                    f"{policy:10}{step:>10}"
                    + "".join(f"  {cov:13.3f}/{prec:5.3f}" for cov, prec in cells)
                    + f"   {own_share:9.3f}"
                )


if __name__ == "__main__":
    main()
