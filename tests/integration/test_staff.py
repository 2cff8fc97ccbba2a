"""The staff register: only the people in it may work tickets."""

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from care.customers.staff import StaffError


async def test_a_registered_agent_is_staff_and_a_stranger_is_not(services):
    await services.staff.add(7001, "Minh", "agent")
    assert await services.staff.is_staff(7001)
    assert not await services.staff.is_staff(7002)
    assert not await services.staff.is_staff(None)


async def test_the_list_shows_active_staff_by_name(services):
    await services.staff.add(7002, "Trang", "manager")
    await services.staff.add(7001, "Minh", "agent")
    listed = await services.staff.list()
    assert [(s.name, s.role, s.telegram_user_id) for s in listed] == [
        ("Minh", "agent", 7001),
        ("Trang", "manager", 7002),
    ]


async def test_removing_withdraws_the_rights_at_once_but_keeps_the_record(services):
    await services.staff.add(7001, "Minh")
    assert await services.staff.remove(7001)
    assert not await services.staff.is_staff(7001)
    assert await services.staff.list() == []
    everyone = await services.staff.list(include_inactive=True)
    assert [(s.name, s.active) for s in everyone] == [("Minh", False)]


async def test_removing_someone_who_is_not_staff_says_so(services):
    assert not await services.staff.remove(7999)


async def test_adding_again_brings_someone_back_with_the_new_name_and_role(services):
    await services.staff.add(7001, "Minh")
    await services.staff.remove(7001)
    member = await services.staff.add(7001, "Minh Anh", "manager")
    assert (member.name, member.role, member.active) == ("Minh Anh", "manager", True)
    assert len(await services.staff.list(include_inactive=True)) == 1


@pytest.mark.parametrize(
    ("telegram_id", "name", "role"),
    [(7001, "Minh", "boss"), (7001, "   ", "agent"), (-5, "Minh", "agent")],
)
async def test_bad_staff_details_are_refused_and_nothing_is_stored(
    services, telegram_id, name, role
):
    with pytest.raises(StaffError):
        await services.staff.add(telegram_id, name, role)
    assert await services.staff.list(include_inactive=True) == []


def test_the_staff_commands_add_list_and_remove(tmp_cwd, monkeypatch):
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    runner = CliRunner()
    added = runner.invoke(cli, ["staff", "add", "5001", "--name", "Minh", "--role", "manager"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["staff", "list"])
    assert "5001" in listed.output and "Minh" in listed.output and "manager" in listed.output
    bad = runner.invoke(cli, ["staff", "add", "5002", "--name", "Lan", "--role", "boss"])
    assert bad.exit_code == 1 and "unknown role" in bad.output
    assert runner.invoke(cli, ["staff", "remove", "5001"]).exit_code == 0
    again = runner.invoke(cli, ["staff", "remove", "5001"])
    assert again.exit_code == 1 and "not active staff" in again.output
    assert "0 staff" in runner.invoke(cli, ["staff", "list"]).output
