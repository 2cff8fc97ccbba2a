"""Contacts outside the bot: staff record calls and visits, plan follow-ups with a reminder
on Telegram, and the weekly plan books the customers each tier says are due."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import Contact
from care.customers import ContactProblem
from tests.builders import add_metrics, database_env, make_customer, outbox_rows, with_services


async def staff(services, telegram_id=5001, name="Minh"):
    return await services.staff.add(telegram_id, name)


async def contact_count(services):
    async with services.db.uow() as uow:
        return await uow.session.scalar(select(func.count()).select_from(Contact))


async def test_a_logged_call_shows_on_the_customer_card(services):
    minh = await staff(services)
    lan = await make_customer(services)
    await services.contacts.log(
        lan.id, kind="call", note="Hỏi về bộ sofa mới", outcome="Hẹn ghé cửa hàng", staff_id=minh.id
    )
    card = await services.customer_cards.card(lan.id)
    assert [(c.kind, c.status, c.staff_name, c.outcome) for c in card.contacts] == [
        ("call", "done", "Minh", "Hẹn ghé cửa hàng")
    ]
    listed = await services.contacts.list(customer_id=lan.id)
    assert listed[0].note == "Hỏi về bộ sofa mới" and listed[0].customer_code == lan.code


async def test_a_planned_follow_up_reminds_the_staff_member_at_its_time(services, clock):
    minh = await staff(services)
    lan = await make_customer(services, name="Trần Thị Lan")
    due = clock() + timedelta(days=2)
    planned = await services.contacts.plan(
        lan.id, due_at=due, staff_id=minh.id, kind="visit", note="Mang catalogue"
    )
    [reminder] = await outbox_rows(services, "contact:")
    assert reminder.recipient == "5001" and reminder.status == "pending"
    assert reminder.next_attempt_at == due - timedelta(minutes=30)
    assert "Trần Thị Lan" in reminder.body and "Mang catalogue" in reminder.body
    assert "Thăm khách" in reminder.body
    card = await services.customer_cards.card(lan.id)
    assert card.contacts[0].status == "planned"

    done = await services.contacts.complete(planned.id, outcome="Khách đặt thêm 2 ghế")
    assert done.status == "done" and done.done_at == clock()
    [withdrawn] = await outbox_rows(services, "contact:")
    assert withdrawn.status == "skipped" and withdrawn.skip_reason == "cancelled"
    with pytest.raises(ContactProblem, match="not planned"):
        await services.contacts.complete(planned.id, outcome="again")


async def test_a_follow_up_goes_to_the_account_manager_when_nobody_is_named(services, clock):
    trang = await staff(services, 5002, "Trang")
    lan = await make_customer(services)
    await services.contacts.assign(lan.id, trang.id)
    planned = await services.contacts.plan(lan.id, due_at=clock() + timedelta(hours=3))
    assert planned.staff_name == "Trang"
    cancelled = await services.contacts.cancel(planned.id)
    assert cancelled.status == "cancelled"
    assert (await outbox_rows(services, "contact:"))[0].status == "skipped"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": "fax", "note": "x"}, "unknown contact kind"),
        ({"kind": "call", "note": "   "}, "a note or an outcome"),
        ({"kind": "call", "note": "x" * 2001}, "at most 2000"),
        (
            {"kind": "call", "note": "x", "at": datetime(2030, 1, 1, tzinfo=UTC)},
            "cannot be in the future",
        ),
    ],
)
async def test_bad_contacts_are_refused_and_nothing_is_stored(services, fields, problem):
    lan = await make_customer(services)
    with pytest.raises(ContactProblem, match=problem):
        await services.contacts.log(lan.id, **fields)
    assert await contact_count(services) == 0


async def test_a_contact_cannot_be_planned_in_the_past_or_for_an_erased_customer(services, clock):
    lan = await make_customer(services)
    with pytest.raises(ContactProblem, match="in the future"):
        await services.contacts.plan(lan.id, due_at=clock() - timedelta(days=1))
    gone = await make_customer(services, erased_at=clock())
    with pytest.raises(ContactProblem, match="no such customer"):
        await services.contacts.plan(gone.id, due_at=clock() + timedelta(days=1))
    assert await contact_count(services) == 0


async def test_the_weekly_plan_books_the_customers_each_tier_says_are_due(services, clock):
    minh = await staff(services, 5001, "Minh")
    trang = await staff(services, 5002, "Trang")
    diamond_quiet = await make_customer(services, name="Kim Cương Lâu")
    diamond_recent = await make_customer(services, name="Kim Cương Mới")
    gold_quiet = await make_customer(services, name="Vàng Lâu")
    silver = await make_customer(services, name="Bạc")
    for customer, tier in (
        (diamond_quiet, "diamond"),
        (diamond_recent, "diamond"),
        (gold_quiet, "gold"),
        (silver, "silver"),
    ):
        await add_metrics(services, customer, tier=tier, monetary=1_000_000)
    await services.contacts.log(
        diamond_quiet.id, kind="call", note="cũ", at=clock() - timedelta(days=40)
    )
    await services.contacts.log(
        diamond_recent.id, kind="visit", note="mới", at=clock() - timedelta(days=5)
    )
    await services.contacts.assign(gold_quiet.id, trang.id)

    plan = await services.contacts.plan_week()
    assert plan.week_start == date(2026, 11, 23)  # the clock's Monday
    assert plan.planned == 2
    booked = {v.customer_name: v.staff_name for views in plan.by_staff.values() for v in views}
    assert booked == {"Kim Cương Lâu": "Minh", "Vàng Lâu": "Trang"}
    assert all(v.reason == "schedule" for views in plan.by_staff.values() for v in views)
    assert len(await outbox_rows(services, "contact:")) == 2  # each manager is reminded
    again = await services.contacts.plan_week()
    assert again.planned == 0 and again.total == 2
    assert minh.id != trang.id


def test_the_contact_commands_log_plan_list_and_book_the_week(settings, monkeypatch):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "250")  # tables unwrapped
    runner = CliRunner()
    assert runner.invoke(cli, ["staff", "add", "5001", "--name", "Minh"]).exit_code == 0
    added = runner.invoke(cli, ["contact", "log", "KH-CLI", "--note", "x"])
    assert added.exit_code == 1 and "no customer matches" in added.output
    with_services(settings, _customer)
    logged = runner.invoke(
        cli,
        [
            "contact",
            "log",
            "KH-CLI",
            "--kind",
            "visit",
            "--note",
            "Thăm showroom",
            "--staff",
            "5001",
        ],
    )
    assert logged.exit_code == 0, logged.output
    assert "recorded #1: visit with KH-CLI" in logged.output
    planned = runner.invoke(
        cli, ["contact", "plan", "KH-CLI", "--at", "01/01/2030 14:30", "--staff", "5001"]
    )
    assert planned.exit_code == 0, planned.output
    assert "01/01/2030 14:30" in planned.output and "Minh" in planned.output
    bad = runner.invoke(cli, ["contact", "plan", "KH-CLI", "--at", "31/02/2030"])
    assert bad.exit_code == 1 and "not a date" in bad.output
    nobody = runner.invoke(cli, ["contact", "log", "KH-CLI", "--note", "x", "--staff", "Ai"])
    assert nobody.exit_code == 1 and "no active staff member" in nobody.output
    listed = runner.invoke(cli, ["contact", "list", "KH-CLI"])
    assert listed.exit_code == 0 and "showroom" in listed.output  # the table may wrap
    only_planned = runner.invoke(cli, ["contact", "list", "--planned"])
    assert "planned" in only_planned.output and "showroom" not in only_planned.output
    done = runner.invoke(cli, ["contact", "done", "2", "--outcome", "Đặt hàng"])
    assert done.exit_code == 0 and "Đặt hàng" in done.output
    week = runner.invoke(cli, ["contact", "week"])
    assert week.exit_code == 0 and "contacts booked now" in week.output


async def _customer(services):
    await make_customer(services, code="KH-CLI", name="Khách CLI")


async def test_erasing_a_customer_erases_their_contacts_and_the_reminders_naming_them(
    services, clock
):
    minh = await staff(services)
    lan = await make_customer(services, name="Phạm Thị Hoa")
    await services.contacts.log(lan.id, kind="call", note="Nói chuyện về con gái", staff_id=minh.id)
    await services.contacts.plan(lan.id, due_at=clock() + timedelta(days=1), staff_id=minh.id)
    await services.customers.forget_by_code(lan.code)
    assert await contact_count(services) == 0
    [reminder] = await outbox_rows(services, "contact:")
    assert reminder.status == "skipped" and "Hoa" not in reminder.body
