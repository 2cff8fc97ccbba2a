"""`carebot demo --script`: the demo runs end to end with nothing configured."""

import re
import sqlite3
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app

pytestmark = pytest.mark.e2e


def play(tmp_path, lines, *extra):
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["demo", "--script", str(script), "--dir", str(tmp_path / "demo"), *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_scripted_start_prints_the_welcome_in_vietnamese(tmp_path, tmp_cwd):
    output = play(tmp_path, ["/start"])
    assert "> /start" in output
    assert "Xin chào Lan" in output
    assert "[1] ❓ Hỏi đáp" in output


def test_the_demo_prints_the_console_and_a_login_link(tmp_path, tmp_cwd):
    output = play(tmp_path, ["/start"])
    assert re.search(r"Web console.*: http://127\.0\.0\.1:\d+/console/", output)
    assert re.search(r"http://127\.0\.0\.1:\d+/console/login\?token=\S+", output)


def test_the_same_for_a_customer_whose_telegram_is_in_english(tmp_path, tmp_cwd):
    output = play(tmp_path, ["/start"], "--language", "en")
    assert "Hello Lan" in output


def test_buttons_are_pressed_by_typing_their_number(tmp_path, tmp_cwd):
    output = play(tmp_path, ["/start", "5", "2"])
    assert "Switched to English" in output


def test_running_the_demo_twice_reuses_its_data(tmp_path, tmp_cwd):
    play(tmp_path, ["/start"])
    output = play(tmp_path, ["/help"])
    assert "/orders" in output


def test_staff_see_the_demo_customers_tier_and_value_from_the_first_message(tmp_path, tmp_cwd):
    output = play(tmp_path, ["!staff /customer DEMO-001"])

    card = output.split("> !staff /customer DEMO-001", 1)[1]
    tier = re.search(r"⭐ Hạng (\w+)", card)
    value = re.search(r"Giá trị trọn đời ([\d.]+) ₫ · CLV 12 tháng ([\d.]+) ₫", card)
    assert tier is not None and tier.group(1) in {"Kim", "Vàng", "Bạc", "Thành"}, card
    assert value is not None and value.group(1) != "0" and value.group(2) != "0", card
    with sqlite3.connect(tmp_path / "demo" / "demo.db") as db:
        (first_order,) = db.execute(
            "SELECT min(o.placed_at) FROM orders o JOIN customers c ON c.id = o.customer_id"
            " WHERE c.code = 'DEMO-001' AND o.kind = 'order'"
        ).fetchone()
    placed = datetime.fromisoformat(first_order).replace(tzinfo=UTC)
    since = placed.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert f"Khách từ {since:%d/%m/%Y}" in card
