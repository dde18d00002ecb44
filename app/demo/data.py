"""Demo feedback for the example journey: a few hundred realistic items, the same on every run."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

# (touchpoint or None for triage, scale, low/high score, texts)
TEMPLATES: list[tuple[str | None, str, tuple[int, int], list[str]]] = [
    (
        "checkout-survey",
        "csat",
        (1, 3),
        [
            "The payment page timed out twice before my order went through.",
            "Checkout kept asking for my postcode again after I entered it.",
            "Card was declined at checkout even though it works everywhere else.",
        ],
    ),
    (
        "promo-banner",
        "csat",
        (1, 3),
        [
            "The promo code from the flyer says it has expired, but it is valid until next month.",
            "Discount code didn't apply to my first box.",
        ],
    ),
    (
        "first-box-nps",
        "nps",
        (0, 6),
        [
            "My first box arrived two days late and the ice packs had melted.",
            "First box came with a missing bag of ingredients for the curry.",
            "Box was left in the rain on the doorstep, everything soggy.",
        ],
    ),
    (
        "first-box-nps",
        "nps",
        (9, 10),
        [
            "Loved the first box, everything fresh and the recipes were easy.",
        ],
    ),
    (
        "delivery-csat",
        "csat",
        (1, 2),
        [
            "Driver didn't ring the bell and left the box with a neighbour I don't know.",
            "Delivery window was 8-12 and it came at 9pm.",
            "Tracking said delivered but nothing arrived.",
        ],
    ),
    (
        "box-review",
        "csat",
        (1, 3),
        [
            "The salmon smelled off when I opened the box.",
            "Avocados were rock hard, could not use them.",
            "Herbs were wilted again this week.",
        ],
    ),
    (
        "recipe-rating",
        "csat",
        (2, 4),
        [
            "Recipe card says 30 minutes but it took an hour.",
            "Step 4 of the recipe refers to an ingredient that wasn't in the box.",
        ],
    ),
    (
        "invoice-email",
        "csat",
        (1, 2),
        [
            "I was charged twice for the same week.",
            "My first bill was higher than the price shown when I signed up.",
            "Invoice shows VAT twice.",
        ],
    ),
    (
        "payment-settings",
        "ces",
        (1, 3),
        [
            "Updating my card in the app throws an error every time.",
            "Could not find where to change the payment card.",
        ],
    ),
    (
        "support-csat",
        "csat",
        (1, 2),
        [
            "Waited 40 minutes in the chat queue and then got disconnected.",
            "Third time I've contacted support this month about the same missing item.",
        ],
    ),
    (
        "refund-form",
        "csat",
        (1, 2),
        [
            "Refund for the spoiled box still hasn't arrived after two weeks.",
            "The refund form won't submit without an order number I can't find.",
        ],
    ),
    (
        "pause-flow",
        "ces",
        (1, 3),
        [
            "Skipping a week is buried three menus deep.",
            "I paused but still got charged for the box.",
        ],
    ),
    (
        "cancel-survey",
        "nps",
        (0, 5),
        [
            "Cancelling took a phone call, why can't I do it online?",
            "Too expensive after the intro discount ends.",
        ],
    ),
    (
        "pricing-page",
        "ces",
        (2, 4),
        [
            "The pricing page doesn't say what a serving costs after the first month.",
        ],
    ),
    (
        None,
        "nps",
        (0, 6),
        [
            "Honestly the whole thing has been a hassle this month.",
            "Why is there so much plastic packaging?",
            "The app logs me out every other day.",
            "I got someone else's box with their name on it.",
            "Your driver blocked our driveway for half an hour.",
        ],
    ),
]
PERSONAS = ["family", "single", "gifting", None]


def demo_items(count: int = 360, *, seed: int = 7, now: datetime | None = None) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    weights = [
        len(t[3]) * (3 if t[0] in ("first-box-nps", "delivery-csat", "invoice-email") else 1)
        for t in TEMPLATES
    ]
    items = []
    for n in range(count):
        touchpoint, scale, (low, high), texts = rng.choices(TEMPLATES, weights=weights)[0]
        item: dict[str, Any] = {
            "source": "demo-survey",
            "external_id": f"demo-{n:05d}",
            "text": rng.choice(texts),
            "score": rng.randint(low, high),
            "scale": scale,
            "customer_ref": f"cust-{rng.randint(1, 180):04d}",
            "occurred_at": (now - timedelta(days=rng.uniform(0, 182))).isoformat(),
        }
        if touchpoint:
            item["touchpoint"] = touchpoint
        persona = rng.choice(PERSONAS)
        if persona:
            item["persona"] = persona
        items.append(item)
    return items
