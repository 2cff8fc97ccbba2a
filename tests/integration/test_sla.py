"""Deadlines on tickets in the database: one reminder per breach, none once resolved."""

import itertools

from care.core.models import Complaint
from care.tickets.complaints import Draft
from tests.builders import add_metrics, make_customer, outbox_rows

_telegram_ids = itertools.count(9101)


async def _ticket(services, *, tier=None, severity="medium"):
    customer = await make_customer(services, telegram_user_id=next(_telegram_ids))
    if tier:
        await add_metrics(services, customer, tier=tier)
    return await services.complaints.file(
        customer.telegram_user_id, Draft("delivery", severity, "Giao trễ ba ngày")
    )


async def test_an_unclaimed_ticket_past_its_first_response_target_is_reminded_once(services, clock):
    ticket = await _ticket(services, tier="gold")  # gold, medium: 1 hour
    clock.advance(minutes=59)
    assert await services.deadlines.check() == []
    clock.advance(minutes=2)
    first = await services.deadlines.check()
    second = await services.deadlines.check()
    assert [(b.code, b.kind, b.key) for b in first] == [
        (ticket.code, "first", f"breach:first:{ticket.id}")
    ]
    assert second == []
    rows = await outbox_rows(services, "breach:")
    assert len(rows) == 1
    assert rows[0].recipient == str(services.settings.staff_chat_id)
    assert rows[0].status == "pending"
    assert ticket.code in rows[0].body and "quá hạn phản hồi đầu tiên" in rows[0].body
    async with services.db.uow() as uow:
        stored = await uow.session.get(Complaint, ticket.id)
        assert stored.first_response_breach_at == clock.now
        assert stored.resolution_breach_at is None


async def test_a_claimed_ticket_is_not_late_for_first_response_but_can_be_for_resolution(
    services, clock
):
    ticket = await _ticket(services, tier="diamond", severity="critical")  # 7.5 min, 2 h
    await services.staff.add(7001, "Minh")
    await services.complaints.claim(ticket.id, 7001)
    clock.advance(hours=3)
    breaches = await services.deadlines.check()
    assert [b.kind for b in breaches] == ["resolution"]
    assert await services.deadlines.check() == []
    rows = await outbox_rows(services, "breach:")
    assert [r.idempotency_key for r in rows] == [f"breach:resolution:{ticket.id}"]
    assert "Minh" in rows[0].body


async def test_a_ticket_past_both_targets_gets_two_reminders_and_no_more(services, clock):
    ticket = await _ticket(services)  # member, medium: 4 h and 72 h
    clock.advance(hours=100)
    breaches = await services.deadlines.check()
    assert sorted(b.kind for b in breaches) == ["first", "resolution"]
    await services.deadlines.check()
    keys = sorted(r.idempotency_key for r in await outbox_rows(services, "breach:"))
    assert keys == [f"breach:first:{ticket.id}", f"breach:resolution:{ticket.id}"]


async def test_a_resolved_ticket_is_never_reminded(services, clock):
    ticket = await _ticket(services)
    await services.staff.add(7001, "Minh")
    await services.complaints.resolve(ticket.id, 7001, "Đã giao lại hàng")
    clock.advance(days=30)
    assert await services.deadlines.check() == []
    assert await outbox_rows(services, "breach:") == []


async def test_a_reopened_ticket_gets_a_new_deadline_and_its_own_reminder(services, clock):
    ticket = await _ticket(services)  # 72 h to resolve
    await services.staff.add(7001, "Minh")
    await services.complaints.claim(ticket.id, 7001)
    clock.advance(hours=80)
    assert [b.kind for b in await services.deadlines.check()] == ["resolution"]
    resolved = await services.complaints.resolve(ticket.id, 7001, "Đã hoàn tiền")
    step = await services.surveys.answer(resolved.survey_id, ticket.customer_telegram_id, "csat", 1)
    assert step.reopened
    clock.advance(hours=71)
    assert await services.deadlines.check() == []
    clock.advance(hours=2)
    again = await services.deadlines.check()
    assert [b.kind for b in again] == ["resolution"]
    assert again[0].key.startswith(f"breach:resolution:{ticket.id}:")
    assert len(await outbox_rows(services, "breach:")) == 2
