"""Signed links, attacked and rotated: odd tokens are a 404 and change nothing (never a
500), one secret key signs them whether configured or generated and stored, and links
already sent keep working across a key rotation, a new bot token or a moved database."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from care.core.db import Database
from care.core.keys import Keys, KeysNotLoaded
from care.core.models import Customer, StoredSecret
from care.core.settings import Settings
from care.services import Services, build_services
from tests.builders import Clock, make_customer
from tests.conftest import PG_URL
from tests.integration.servers import web_served

KEY_2025 = "k" * 16 + "2025-key-of-the-shop-0123456789"
KEY_2026 = "k" * 16 + "2026-key-of-the-shop-9876543210"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def subscribed(services: Services, **fields: object) -> Customer:
    return await make_customer(services, consent_email=True, **fields)


async def email_consent(services: Services, customer: Customer) -> bool:
    async with services.db.uow() as uow:
        value = await uow.session.scalar(
            select(Customer.consent_email).where(Customer.id == customer.id)
        )
    return bool(value)


async def started(
    settings: Settings, database: Database, clock: Clock, **changes: object
) -> Services:
    """The shop's services after a restart with changed settings, on the same database."""
    changed = Settings.model_validate({**settings.model_dump(), **changes})  # validated
    services = build_services(changed, database=database, clock=clock)
    await services.start()
    return services


async def one_click(services: Services, token: str) -> int:
    """POST the one-click unsubscribe for ``token`` to the web app of ``services``."""
    async with web_served(services) as base, httpx.AsyncClient() as http:
        answer = await http.post(f"{base}/unsubscribe/{quote(token, safe='')}", data=ONE_CLICK)
    return answer.status_code


# --- odd tokens -------------------------------------------------------------------------------


def odd_tokens(customer_id: int, good: str) -> dict[str, str]:
    """Tokens an attacker or a mangling mail client might produce from a good one."""
    signature = good.partition(".")[2]
    digits = str(customer_id)
    return {
        "arabic-indic digits": "".join(chr(0x660 + int(d)) for d in digits) + "." + signature,
        "superscript digits": digits.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        + "."
        + signature,
        "fullwidth digits": digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        + "."
        + signature,
        "a 5,000-digit id": "9" * 5000 + "." + signature,
        "5,000 digits alone": "4" * 5000,
        "a 20-digit id": "1" * 20 + "." + signature,
        "negative id": f"-{digits}.{signature}",
        "trailing newline": good + "\n",
        "trailing space": good + " ",
        "padding added": good + "=",
        "signature cut": good[:-1],
        "signature of a letter changed": good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1],
        "no signature": digits + ".",
        "no id": "." + signature,
        "only the id": digits,
        "NUL": good + "\x00",
        "ten kilobytes": "a" * 10_000,
        "garbage": "not-a-token",
        "old shape, forged": f"{digits}.0123456789abcdef01234567",
        "dots": "...",
    }


@pytest.mark.parametrize(
    "kind",
    list(odd_tokens(1, "1." + "A" * 43)),
)
async def test_an_odd_token_is_a_404_that_changes_nothing(services: Services, kind: str) -> None:
    lan = await subscribed(services)
    good = services.care.outbox.links.token(lan.id)
    token = odd_tokens(lan.id, good)[kind]
    assert services.care.outbox.links.read(token) is None
    async with web_served(services) as base, httpx.AsyncClient() as http:
        for method in ("GET", "POST"):
            url = f"{base}/unsubscribe/{quote(token, safe='')}"
            answer = await http.request(method, url, data=ONE_CLICK)
            assert answer.status_code == 404, (method, answer.text[:200])
            assert "Liên kết không hợp lệ" in answer.text
            assert "Traceback" not in answer.text
        # the good token, on the same server, works: the 404 is the token's doing
        assert (await http.get(f"{base}/unsubscribe/{good}")).status_code == 200
    assert await email_consent(services, lan) is True


async def test_a_token_signed_for_another_purpose_is_no_unsubscribe_link(
    services: Services,
) -> None:
    lan = await subscribed(services)
    for purpose in ("session", "login", "unsubscribe-x"):
        token = services.keys.signer(purpose).sign(str(lan.id)).decode()
        assert services.care.outbox.links.read(token) is None
        assert await one_click(services, token) == 404
    assert await email_consent(services, lan) is True


# --- one secret key, generated once when not configured -----------------------------------------


async def test_without_a_configured_key_one_is_generated_once_and_stored(
    services: Services, settings: Settings, database: Database, clock: Clock
) -> None:
    async with database.uow() as uow:
        [stored] = (
            await uow.session.scalars(
                select(StoredSecret.value).where(StoredSecret.name == "secret_key")
            )
        ).all()
    assert len(stored) >= 40
    lan = await subscribed(services)
    link = services.care.outbox.links.token(lan.id)
    restarted = await started(settings, database, clock)
    assert restarted.care.outbox.links.token(lan.id) == link


async def test_two_processes_starting_at_once_agree_on_the_generated_key(
    settings: Settings, database: Database
) -> None:
    first, second = Keys(settings, database), Keys(settings, database)
    await asyncio.gather(first.load(), second.load())
    assert first.signer("x").sign("1") == second.signer("x").sign("1")


async def test_a_new_bot_token_leaves_the_links_already_sent_working(
    services: Services, settings: Settings, database: Database, clock: Clock
) -> None:
    lan = await subscribed(services)
    token = services.care.outbox.links.token(lan.id)
    restarted = await started(settings, database, clock, telegram_token="654321:NEW-token")
    assert await one_click(restarted, token) == 200
    assert await email_consent(restarted, lan) is False


async def test_a_database_moved_to_another_place_keeps_its_links_working(
    services: Services, settings: Settings, database: Database, clock: Clock, tmp_path: Path
) -> None:
    if PG_URL:
        pytest.skip("moves a SQLite file; on PostgreSQL the key lives in the database the same way")
    lan = await subscribed(services)
    token = services.care.outbox.links.token(lan.id)
    await database.dispose()  # checkpoints the WAL into the file
    moved = tmp_path / "moved" / "carebot.db"
    moved.parent.mkdir()
    shutil.copy(Path(settings.database_url.split("///", 1)[1]), moved)
    new_url = f"sqlite+aiosqlite:///{moved}"
    elsewhere = Database(new_url)
    try:
        restarted = await started(settings, elsewhere, clock, database_url=new_url)
        assert await one_click(restarted, token) == 200
        assert await email_consent(restarted, lan) is False
    finally:
        await elsewhere.dispose()


# --- rotation ---------------------------------------------------------------------------------


async def test_a_link_signed_before_a_key_rotation_still_unsubscribes(
    settings: Settings, database: Database, clock: Clock
) -> None:
    before = await started(settings, database, clock, secret_key=KEY_2025)
    lan = await subscribed(before)
    old_link = before.care.outbox.links.token(lan.id)

    after = await started(
        settings, database, clock, secret_key=KEY_2026, secret_key_previous=[KEY_2025]
    )

    new_link = after.care.outbox.links.token(lan.id)
    assert new_link != old_link  # the new key signs from now on
    assert before.care.outbox.links.read(new_link) is None
    assert await one_click(after, old_link) == 200
    assert await email_consent(after, lan) is False


async def test_a_key_no_longer_listed_no_longer_verifies(
    settings: Settings, database: Database, clock: Clock
) -> None:
    before = await started(settings, database, clock, secret_key=KEY_2025)
    lan = await subscribed(before)
    old_link = before.care.outbox.links.token(lan.id)

    after = await started(settings, database, clock, secret_key=KEY_2026)

    assert await one_click(after, old_link) == 404
    assert await email_consent(after, lan) is True


async def test_configuring_a_key_later_keeps_links_signed_with_the_generated_one(
    services: Services, settings: Settings, database: Database, clock: Clock
) -> None:
    lan = await subscribed(services)
    generated_link = services.care.outbox.links.token(lan.id)

    configured = await started(settings, database, clock, secret_key=KEY_2026)

    assert configured.care.outbox.links.token(lan.id) != generated_link
    assert await one_click(configured, generated_link) == 200


# --- links signed the first way ------------------------------------------------------------------


def first_version_token(customer_id: int, settings: Settings) -> str:
    """How the first versions signed a link: an HMAC keyed by the bot token and the URL."""
    assert settings.telegram_token is not None
    material = f"{settings.telegram_token.get_secret_value()}|{settings.database_url}"
    key = hashlib.sha256(material.encode()).digest()
    mac = hmac.new(key, f"unsubscribe:{customer_id}".encode(), hashlib.sha256)
    return f"{customer_id}.{mac.hexdigest()[:24]}"


async def test_a_link_signed_the_first_way_still_works_while_token_and_database_stay(
    services: Services, settings: Settings, database: Database, clock: Clock
) -> None:
    lan = await subscribed(services)
    sent_last_year = first_version_token(lan.id, settings)
    assert services.care.outbox.links.read(sent_last_year) == lan.id

    new_token = await started(settings, database, clock, telegram_token="654321:NEW-token")
    assert new_token.care.outbox.links.read(sent_last_year) is None  # as it always was

    assert await one_click(services, sent_last_year) == 200
    assert await email_consent(services, lan) is False


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("secret_key", "too-short"),
        ("secret_key_previous", ["too-short"]),
        ("webhook_secret", "spaces are not allowed"),
        ("webhook_secret", "ký-tự"),
        ("webhook_secret", "x" * 257),
        ("webhook_url", "https://shop.example"),
        ("webhook_url", "https://shop.example/"),
        ("webhook_url", "https://shop.example/unsubscribe/hook"),
        ("webhook_url", "https://shop.example/healthz"),
        ("webhook_url", "ftp://shop.example/telegram"),
    ],
)
def test_settings_refuse_weak_or_unusable_secrets_and_webhook_urls(
    field: str, value: object
) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{field: value})  # type: ignore[call-arg]


def test_settings_take_a_usable_webhook_and_keys() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        webhook_url="https://shop.example/telegram",
        webhook_secret="Abc_123-xyz",
        secret_key=KEY_2026,
        secret_key_previous=[KEY_2025],
    )
    assert settings.webhook_url == "https://shop.example/telegram"
    assert "Abc_123" not in repr(settings)  # secrets stay out of logs


def test_previous_keys_come_from_the_environment_as_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAREBOT_SECRET_KEY_PREVIOUS", f'["{KEY_2025}"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert [key.get_secret_value() for key in settings.secret_key_previous] == [KEY_2025]


def test_signing_before_the_keys_are_loaded_is_an_error_not_a_weak_link(settings: Settings) -> None:
    services = build_services(settings)
    with pytest.raises(KeysNotLoaded):
        services.care.outbox.links.token(1)
