"""Tickets: filing, claiming, replying, resolving, and what staff see beside them."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from care.core.models import PolicyGrant, Survey
from care.tickets.complaints import (
    ComplaintError,
    Draft,
    NotLinked,
    Result,
    ticket_code,
)
from tests.builders import add_metrics, make_customer, make_order

_ids = itertools.count(8001)


async def linked(services, *, tier=None, ltv=0, **fields):
    customer = await make_customer(services, telegram_user_id=next(_ids), **fields)
    if tier:
        await add_metrics(services, customer, tier=tier, historical_ltv=ltv)
    return customer


async def file(services, customer, category="delivery", severity="medium", **kw):
    draft = Draft(category, severity, kw.pop("description", "Hàng giao trễ"), **kw)
    return await services.complaints.file(customer.telegram_user_id, draft)


async def test_a_linked_customer_files_a_ticket_with_deadlines_from_tier_and_severity(
    services, clock
):
    lan = await linked(services, tier="gold", ltv=42_000_000)
    order = await make_order(services, lan)
    ticket = await file(
        services, lan, "product_quality", "high", order_id=order.id, photo_file_id="photo-1"
    )
    assert ticket.code == ticket_code(ticket.id)
    assert ticket.status == "open"
    assert ticket.tier == "gold"
    assert ticket.ltv == 42_000_000
    assert ticket.first_response_due == clock.now + timedelta(minutes=30)
    assert ticket.resolution_due == clock.now + timedelta(hours=12)
    assert ticket.order_code == order.code
    assert ticket.photo_file_id == "photo-1"
    assert ticket.earlier_complaints == 0


async def test_a_customer_without_metrics_files_as_a_member(services, clock):
    lan = await linked(services)
    ticket = await file(services, lan)
    assert ticket.tier == "member"
    assert ticket.ltv == 0
    assert ticket.first_response_due == clock.now + timedelta(hours=4)


async def test_an_unlinked_telegram_account_cannot_file(services):
    with pytest.raises(NotLinked):
        await services.complaints.file(424242, Draft("delivery", "low", "Trễ"))
    assert await services.complaints.requester(424242) is None


async def test_someone_elses_order_cannot_be_attached_and_nothing_is_filed(services):
    lan = await linked(services)
    other = await linked(services, name="Trần Văn Nam")
    their_order = await make_order(services, other)
    assert await services.complaints.own_order(lan.id, their_order.id) is None
    with pytest.raises(ComplaintError):
        await file(services, lan, order_id=their_order.id)
    assert await services.complaints.open_tickets() == []


@pytest.mark.parametrize(
    "draft",
    [
        Draft("weather", "low", "x"),
        Draft("delivery", "apocalyptic", "x"),
        Draft("delivery", "low", "   "),
    ],
)
async def test_a_bad_draft_is_refused(services, draft):
    lan = await linked(services)
    with pytest.raises(ComplaintError):
        await services.complaints.file(lan.telegram_user_id, draft)


async def test_a_photo_alone_is_a_description(services):
    lan = await linked(services)
    ticket = await services.complaints.file(
        lan.telegram_user_id, Draft("warranty", "low", None, photo_file_id="p")
    )
    assert ticket.description is None and ticket.photo_file_id == "p"


async def test_recent_orders_are_the_customers_own_newest_orders_only(services, clock):
    lan = await linked(services)
    other = await linked(services)
    old = await make_order(services, lan, placed_at=clock.now - timedelta(days=40))
    new = await make_order(services, lan, placed_at=clock.now - timedelta(days=2))
    await make_order(services, lan, kind="inquiry", status="open")
    await make_order(services, other)
    orders = await services.complaints.recent_orders(lan.id)
    assert [o.code for o in orders] == [new.code, old.code]


async def test_the_card_shows_earlier_complaints_and_policies_received(services):
    lan = await linked(services, tier="silver")
    await file(services, lan)
    await file(services, lan, "billing")
    async with services.db.uow() as uow:
        uow.session.add(PolicyGrant(customer_id=lan.id, policy="shipping_refund", value=30_000))
        await uow.commit()
    ticket = await file(services, lan, "delivery")
    assert ticket.earlier_complaints == 2
    assert [(p.policy, p.value) for p in ticket.policies] == [("shipping_refund", 30_000)]
    assert ticket.tier == "silver"


async def test_claiming_is_for_staff_only_and_only_once(services, clock):
    lan = await linked(services)
    ticket = await file(services, lan)
    await services.staff.add(7001, "Minh")
    await services.staff.add(7002, "Trang")

    stranger = await services.complaints.claim(ticket.id, 7999)
    assert stranger.result == Result.NOT_STAFF
    assert (await services.complaints.ticket(ticket.id)).status == "open"

    clock.advance(minutes=20)
    claimed = await services.complaints.claim(ticket.id, 7001)
    assert claimed.ok and claimed.ticket.assignee == "Minh"
    assert claimed.ticket.status == "claimed"
    assert claimed.ticket.first_response_at == clock.now

    clock.advance(minutes=5)
    again = await services.complaints.claim(ticket.id, 7001)
    assert again.result == Result.ALREADY_YOURS
    other = await services.complaints.claim(ticket.id, 7002)
    assert other.result == Result.CLAIMED_BY_OTHER and other.other == "Minh"
    after = await services.complaints.ticket(ticket.id)
    assert after.assignee == "Minh"
    assert after.first_response_at == claimed.ticket.first_response_at


async def test_a_removed_staff_member_can_no_longer_act(services):
    lan = await linked(services)
    ticket = await file(services, lan)
    await services.staff.add(7001, "Minh")
    await services.staff.remove(7001)
    assert (await services.complaints.claim(ticket.id, 7001)).result == Result.NOT_STAFF


async def test_claiming_or_resolving_a_missing_ticket_says_not_found(services):
    await services.staff.add(7001, "Minh")
    assert (await services.complaints.claim(999, 7001)).result == Result.NOT_FOUND
    assert (await services.complaints.resolve(999, 7001, "x")).result == Result.NOT_FOUND


async def test_the_first_staff_reply_is_the_first_response(services, clock):
    lan = await linked(services)
    ticket = await file(services, lan)
    await services.staff.add(7001, "Minh")
    clock.advance(minutes=12)
    reply = await services.complaints.staff_reply(ticket.id, 7001, "Chào chị, em kiểm tra ạ", 555)
    assert reply.ok and reply.staff_name == "Minh"
    assert reply.ticket.first_response_at == clock.now
    assert reply.ticket.status == "open"  # replying does not claim
    assert await services.complaints.find_by_staff_message(555) == ticket.id


async def test_customer_messages_go_to_their_latest_open_ticket(services):
    lan = await linked(services)
    nam = await linked(services)
    assert await services.complaints.customer_message(lan.telegram_user_id, "alo") is None
    await file(services, lan)
    latest = await file(services, lan, "billing")
    relay = await services.complaints.customer_message(lan.telegram_user_id, "Em đợi ạ")
    assert relay.ticket.id == latest.id
    await services.complaints.attach_staff_message(relay.message_id, 777)
    assert await services.complaints.find_by_staff_message(777) == latest.id
    assert await services.complaints.customer_message(nam.telegram_user_id, "hi") is None


async def test_the_card_and_its_photo_find_the_ticket(services):
    lan = await linked(services)
    ticket = await file(services, lan, photo_file_id="photo-9")
    await services.complaints.mark_posted(ticket.id, -1001000, 40, photo_message_id=41)
    assert await services.complaints.find_by_staff_message(40) == ticket.id
    assert await services.complaints.find_by_staff_message(41) == ticket.id
    assert await services.complaints.find_by_staff_message(42) is None


async def test_resolving_closes_the_ticket_once_and_opens_its_survey(services, clock):
    lan = await linked(services)
    ticket = await file(services, lan)
    await services.staff.add(7001, "Minh")
    await services.staff.add(7002, "Trang")
    assert (await services.complaints.resolve(ticket.id, 7999, "x")).result == Result.NOT_STAFF
    with pytest.raises(ComplaintError):
        await services.complaints.resolve(ticket.id, 7001, "  ")
    clock.advance(hours=2)
    done = await services.complaints.resolve(ticket.id, 7001, "Đã giao lại hàng mới")
    assert done.ok
    assert done.ticket.status == "resolved"
    assert done.ticket.resolution == "Đã giao lại hàng mới"
    assert done.ticket.resolved_at == clock.now
    assert done.ticket.assignee == "Minh"  # resolving an unclaimed ticket takes it
    assert done.ticket.first_response_at == clock.now
    again = await services.complaints.resolve(ticket.id, 7002, "Lần nữa")
    assert again.result == Result.ALREADY_RESOLVED
    assert (await services.complaints.claim(ticket.id, 7002)).result == Result.ALREADY_RESOLVED
    reply = await services.complaints.staff_reply(ticket.id, 7002, "Còn gì không ạ")
    assert reply.result == Result.ALREADY_RESOLVED
    async with services.db.uow() as uow:
        surveys = list(await uow.session.scalars(select(Survey)))
        assert [(s.id, s.trigger, s.complaint_id, s.status) for s in surveys] == [
            (done.survey_id, "complaint", ticket.id, "sent")
        ]
    final = await services.complaints.ticket(ticket.id)
    assert final.resolution == "Đã giao lại hàng mới"


async def test_the_history_lists_messages_and_events_in_order(services, clock):
    lan = await linked(services, name="Lan")
    ticket = await file(services, lan, description="Hộp bị móp")
    await services.staff.add(7001, "Minh")
    clock.advance(minutes=5)
    await services.complaints.claim(ticket.id, 7001)
    clock.advance(minutes=5)
    await services.complaints.staff_reply(ticket.id, 7001, "Chị gửi ảnh giúp em")
    clock.advance(minutes=5)
    await services.complaints.customer_message(lan.telegram_user_id, None, "photo-2")
    clock.advance(minutes=5)
    await services.complaints.resolve(ticket.id, 7001, "Đổi hộp mới")
    detail = await services.complaints.ticket(ticket.id, history=True)
    lines = [(h.event or h.author, h.name, h.text, h.photo) for h in detail.history]
    assert lines == [
        ("filed", None, None, False),
        ("customer", "Lan", "Hộp bị móp", False),
        ("claimed", "Minh", None, False),
        ("staff", "Minh", "Chị gửi ảnh giúp em", False),
        ("customer", "Lan", None, True),
        ("staff", "Minh", "Đổi hộp mới", False),
        ("resolved", "Minh", None, False),
    ]


async def test_open_tickets_come_top_tier_first_then_severity_then_age(services, clock):
    member = await linked(services, name="An")
    diamond = await linked(services, tier="diamond", name="Bình")
    gold = await linked(services, tier="gold", name="Chi")
    old_low = await file(services, member, severity="low")
    clock.advance(minutes=1)
    member_critical = await file(services, member, severity="critical")
    clock.advance(minutes=1)
    gold_low = await file(services, gold, severity="low")
    clock.advance(minutes=1)
    diamond_low = await file(services, diamond, severity="low")
    clock.advance(minutes=1)
    newer_low = await file(services, member, severity="low")
    await services.staff.add(7001, "Minh")
    await services.complaints.claim(gold_low.id, 7001)
    resolved = await file(services, gold, severity="critical")
    await services.complaints.resolve(resolved.id, 7001, "xong")
    rows = await services.complaints.open_tickets()
    assert [r.id for r in rows] == [
        diamond_low.id,
        gold_low.id,
        member_critical.id,
        old_low.id,
        newer_low.id,
    ]
    assert rows[1].assignee == "Minh" and rows[0].assignee is None


async def test_an_open_ticket_is_late_past_its_first_response_or_resolution_target(services, clock):
    lan = await linked(services, tier="gold", name="Lan")
    ticket = await file(services, lan)
    await services.staff.add(7001, "Minh")

    async def late() -> bool:
        [row] = await services.complaints.open_tickets()
        return row.late

    clock.now = ticket.first_response_due
    assert not await late()
    clock.advance(minutes=1)
    assert await late()
    await services.complaints.claim(ticket.id, 7001)  # answered: only the resolution counts
    assert not await late()
    clock.now = ticket.resolution_due + timedelta(minutes=1)
    assert await late()


async def test_the_requester_is_the_linked_customer_with_their_tier(services):
    lan = await linked(services, tier="gold", name="Lan")
    requester = await services.complaints.requester(lan.telegram_user_id)
    assert (requester.customer_id, requester.name, requester.tier) == (lan.id, "Lan", "gold")
