"""A documented generator of realistic web-shop behaviour, for the demo data and for training the
default model on visitors who have not bought yet. Pure and reproducible (seeded).

Ground-truth process (docs/predictive.md states it in full):
- Each visitor has a latent customer type drawn with probabilities TYPE_SHARES, and one latent
  persuasion principle they respond to (uniform over the six).
- Sessions arrive as a Poisson process with a type-dependent weekly rate, from the visitor's first
  visit until the end of the window or until the visitor churns (a geometric number of sessions).
- Each session has type-dependent numbers of page views and product views, an add-to-cart with a
  type-dependent probability, and a purchase with a probability that grows with the session's
  add-to-carts; Passionate visitors buy early, Economical ones interact with discounts.
- In half of the sessions one persuasion principle (uniform) is shown; the visitor responds with
  probability 0.35 if it is their principle, else 0.06.
- Order values are log-normal with a type-dependent median.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .predict.fields import CUSTOMER_TYPES, PERSUASION_TYPES

# type: (share, sessions per week, mean page views, mean product views, p(cart | session),
#        p(buy | cart), median order value, p(discount interaction | session), mean sessions
#        before churn)
TYPE_PARAMS = {
    "Explorer": (0.34, 1.2, 4.0, 3.0, 0.10, 0.15, 45.0, 0.10, 4),
    "Single-minded": (0.20, 0.4, 1.5, 1.2, 0.45, 0.55, 70.0, 0.05, 2),
    "Passionate": (0.14, 0.8, 2.5, 2.0, 0.50, 0.70, 60.0, 0.10, 3),
    "Economical": (0.20, 1.0, 3.0, 2.5, 0.30, 0.35, 30.0, 0.60, 5),
    "Believer": (0.12, 1.5, 2.5, 2.0, 0.40, 0.60, 80.0, 0.15, 15),
}
TYPE_SHARES = [TYPE_PARAMS[t][0] for t in CUSTOMER_TYPES]
COUNTRIES = ["NL", "NL", "NL", "BE", "BE", "DE", "DE", "FR", "GB", "US"]
INTERESTS = ["jazz", "rock", "pop", "classical", "vinyl", "hip-hop", "electronic", "folk"]
P_RESPOND_OWN, P_RESPOND_OTHER = 0.35, 0.06


@dataclass
class Visitor:
    profile_id: str
    attributes: dict
    events: list[dict]
    customer_type: str  # ground truth
    persuasion_type: str  # ground truth


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means used here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_visitor(
    rng: random.Random, profile_id: str, start: datetime, end: datetime
) -> Visitor:
    ctype = rng.choices(CUSTOMER_TYPES, TYPE_SHARES)[0]
    principle = rng.choice(PERSUASION_TYPES)
    _, rate, pv, prv, p_cart, p_buy, median_value, p_discount, lifetime = TYPE_PARAMS[ctype]
    span = (end - start).total_seconds()
    t = start + timedelta(seconds=rng.random() * span * 0.9)
    first = t
    events: list[dict] = []
    n = 0

    def add(kind: str, when: datetime, **extra) -> None:
        events.append(
            {
                "event_id": f"{profile_id}-{len(events)}",
                "profile_id": profile_id,
                "type": kind,
                "timestamp": _iso(when),
                **extra,
            }
        )

    while t < end:
        add("session_start", t)
        when = t
        for _ in range(1 + _poisson(rng, pv - 1)):
            when += timedelta(seconds=rng.randint(10, 120))
            add("page_view", when)
        discount = rng.random() < p_discount
        for i in range(_poisson(rng, prv)):
            when += timedelta(seconds=rng.randint(10, 180))
            add(
                "product_view",
                when,
                properties={
                    "product_id": f"p{rng.randint(1, 400)}",
                    **({"discount": True} if discount and i == 0 else {}),
                },
            )
        carts = 0
        while rng.random() < (p_cart if carts == 0 else 0.3):
            carts += 1
            when += timedelta(seconds=rng.randint(20, 300))
            add("add_to_cart", when)
        if rng.random() < 0.5:
            shown = rng.choice(PERSUASION_TYPES)
            responded = rng.random() < (P_RESPOND_OWN if shown == principle else P_RESPOND_OTHER)
            add(
                "persuasion",
                when,
                properties={"persuasion": {"principle": shown, "responded": responded}},
            )
        early = ctype == "Passionate" and (t - first) < timedelta(days=2)
        if carts and rng.random() < min(0.95, p_buy * (1.5 if early else 1.0) + 0.1 * (carts - 1)):
            when += timedelta(seconds=rng.randint(60, 600))
            value = round(median_value * math.exp(rng.gauss(0, 0.5)) * (0.8 if discount else 1), 2)
            add("purchase", when, value=value, properties={"discount": True} if discount else {})
        n += 1
        if rng.random() < 1.0 / lifetime:
            break  # churned
        t += timedelta(days=rng.expovariate(rate) * 7)
    attributes = {
        "country": rng.choice(COUNTRIES),
        "email": f"{profile_id}@example.com",
        "newsletter": rng.random() < 0.4,
        "signup_date": _iso(first)[:10],
        "interests": rng.sample(INTERESTS, rng.randint(0, 3)),
    }
    return Visitor(profile_id, attributes, events, ctype, principle)


def generate(
    n: int, seed: int = 7, end: datetime | None = None, days: int = 180, prefix: str = "v"
) -> list[Visitor]:
    """n visitors active in the `days` before `end` (default: now)."""
    rng = random.Random(seed)
    end = end or datetime.now(timezone.utc).replace(microsecond=0)
    start = end - timedelta(days=days)
    return [generate_visitor(rng, f"{prefix}{i:06d}", start, end) for i in range(n)]
