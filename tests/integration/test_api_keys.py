"""API keys: made once and shown once, stored hashed, listed without the key, revoked at
once; by the service (the console's) and by `carebot api-key`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import ApiKey
from care.integration import ApiKeyError
from care.services import Services


async def test_a_key_is_shown_once_stored_hashed_and_checked(services: Services) -> None:
    made = await services.api_keys.create("haravan", "orders:write, read")
    assert made.key.startswith("cbk_") and made.view.scopes == ("orders:write", "read")
    async with services.db.uow() as uow:
        stored = (await uow.session.execute(select(ApiKey.key_hash, ApiKey.prefix))).one()
    assert made.key not in stored and len(stored.key_hash) == 64

    found = await services.api_keys.authenticate(made.key)
    assert found is not None and found.name == "haravan" and found.allows("read")
    assert not found.allows("customers:write")
    assert await services.api_keys.authenticate(made.key + "x") is None

    assert await services.api_keys.revoke("haravan") is not None
    assert await services.api_keys.authenticate(made.key) is None
    assert await services.api_keys.revoke("haravan") is None  # already revoked
    [listed] = await services.api_keys.list()
    assert not listed.active


@pytest.mark.parametrize(
    ("name", "scopes", "reason"),
    [
        ("erp", "orders:write,everything", "unknown scope everything"),
        ("erp", " , ", "give at least one scope"),
        ("a b", "read", "is not usable"),
    ],
)
async def test_bad_names_and_scopes_are_refused(
    services: Services, name: str, scopes: str, reason: str
) -> None:
    with pytest.raises(ApiKeyError, match=reason):
        await services.api_keys.create(name, scopes)
    assert await services.api_keys.list() == []


async def test_a_name_is_not_reused(services: Services) -> None:
    await services.api_keys.create("erp", "read")
    with pytest.raises(ApiKeyError, match="exists already"):
        await services.api_keys.create("erp", "read")


def test_the_api_key_commands_create_list_and_revoke(tmp_cwd, monkeypatch) -> None:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    runner = CliRunner()
    made = runner.invoke(
        cli, ["api-key", "create", "sapo", "--scopes", "customers:write,orders:write,read"]
    )
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("cbk_") and "shown only now" in made.output
    listed = runner.invoke(cli, ["api-key", "list"], terminal_width=200)
    assert "sapo" in listed.output and "active" in listed.output and key not in listed.output
    bad = runner.invoke(cli, ["api-key", "create", "x", "--scopes", "admin"])
    assert bad.exit_code == 1 and "unknown scope admin" in bad.output
    assert runner.invoke(cli, ["api-key", "revoke", "sapo"]).exit_code == 0
    again = runner.invoke(cli, ["api-key", "revoke", "sapo"])
    assert again.exit_code == 1 and "no active API key named 'sapo'" in again.output
    assert "0 active, 1 in all" in runner.invoke(cli, ["api-key", "list"]).output
