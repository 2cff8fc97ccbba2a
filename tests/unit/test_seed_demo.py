"""The demo shop's data: the same every time, and believable enough to demonstrate."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from care.core.text import normalise_phone
from care.io.demo import DEMO_FAQ, generate
from tests.builders import Clock


def test_the_same_seed_and_clock_give_the_same_shop(clock: Clock) -> None:
    first = generate(clock.now, customers=50, seed=7)
    second = generate(clock.now, customers=50, seed=7)
    other = generate(clock.now, customers=50, seed=8)

    assert first == second
    assert first.customers != other.customers


def test_the_shop_looks_like_a_vietnamese_shop(clock: Clock) -> None:
    shop = generate(clock.now, customers=300, seed=7)
    people = [c for c in shop.customers if c["kind"] == "individual"]
    companies = [c for c in shop.customers if c["kind"] == "organization"]

    assert sum(any(not ch.isascii() for ch in p["name"]) for p in people) > 0.8 * len(people)
    assert all(c["name"].startswith(("Công ty TNHH", "Công ty Cổ phần")) for c in companies)
    assert all(c["contact_person"] for c in companies)
    phones = [c["phone"] for c in shop.customers]
    assert len(set(phones)) == len(phones)
    assert all(normalise_phone(p) == p and p.startswith("+84") for p in phones)
    assert all(
        c["email"] is None
        or c["email"].split("@")[1].endswith(("example.com", "example.net", "example.org"))
        for c in shop.customers
    )
    regions = Counter(c["region"] for c in shop.customers)
    assert {"Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng"} <= set(regions)
    assert Counter(c["language"] for c in shop.customers)["vi"] / len(shop.customers) > 0.7


def test_orders_span_two_years_up_to_now_with_a_few_big_customers(clock: Clock) -> None:
    shop = generate(clock.now, customers=300, seed=7)
    orders = [o for o in shop.orders if o["kind"] == "order"]

    placed = [o["placed_at"] for o in shop.orders]
    assert clock.now - timedelta(days=731) <= min(placed) and max(placed) <= clock.now
    assert clock.now - max(placed) < timedelta(days=2)
    statuses = Counter(o["status"] for o in orders)
    assert statuses.most_common(1)[0][0] == "delivered"
    assert any(o["kind"] == "inquiry" and o["status"] == "lost" for o in shop.orders)
    for order in orders:
        assert 0.09 <= order["margin"] / order["amount"] <= 0.35
        assert sum(line["amount"] for line in order["lines"]) == order["amount"]
        assert order["payment_terms"]
        if order["delivered_at"] is not None:
            assert order["placed_at"] < order["delivered_at"] <= clock.now

    margin = Counter[str]()
    for order in orders:
        if order["status"] == "delivered":
            margin[order["customer_code"]] += order["margin"]
    ranked = sorted(margin.values(), reverse=True)
    top_fifth = ranked[: len(shop.customers) // 5]
    assert sum(top_fifth) / sum(ranked) > 0.6  # the 80/20 rule, roughly


def test_the_demo_faq_file_ships_with_the_package() -> None:
    assert DEMO_FAQ.is_file()
