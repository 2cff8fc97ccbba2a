"""`carebot demo --script`: the demo runs end to end with nothing configured."""

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
