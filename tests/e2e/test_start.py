"""/start, /help and /language through the sandbox, in the customer's language."""

import pytest

pytestmark = pytest.mark.e2e


async def test_a_vietnamese_customer_is_greeted_in_vietnamese_with_the_menu(bot):
    lan = bot.customer("Lan", language="vi")
    welcome = await lan.says("/start")
    assert "Xin chào Lan" in welcome.text
    assert "Cửa hàng Mẫu" in welcome.text
    assert ("📦 Đơn hàng của tôi", "menu:orders") in welcome.buttons


async def test_an_english_speaking_customer_is_greeted_in_english(bot):
    john = bot.customer("John", language="en")
    welcome = await john.says("/start")
    assert "Hello John" in welcome.text
    assert ("📦 My orders", "menu:orders") in welcome.buttons


async def test_a_customer_with_another_telegram_language_gets_the_shops_default(bot):
    hans = bot.customer("Hans", language="de")
    welcome = await hans.says("/start")
    assert "Xin chào Hans" in welcome.text


async def test_a_chosen_language_is_remembered_across_a_restart(bot):
    lan = bot.customer("Lan", language="vi")
    await lan.says("/language")
    switched = await lan.presses("English")
    assert "Switched to English" in switched.text
    await bot.restart()
    welcome = await lan.says("/start")
    assert "Hello Lan" in welcome.text


async def test_commands_are_registered_in_both_languages(bot):
    vietnamese = dict(bot.sandbox.commands_for({"type": "all_private_chats"}, "vi"))
    english = dict(bot.sandbox.commands_for({"type": "all_private_chats"}, "en"))
    assert vietnamese["orders"] == "Đơn hàng gần đây của tôi"
    assert english["orders"] == "My recent orders"


async def test_a_customer_who_floods_the_bot_is_told_to_slow_down_once(bot):
    guard = bot.application.bot_data["flood_guard"]
    guard.per_minute = 3
    lan = bot.customer("Lan")
    for _ in range(3):
        await lan.says("/help")
    warning = await lan.says("/help")
    assert "hơi nhanh" in warning.text
    await lan.sends("/help")
    await bot.sandbox.wait_idle(quiet=0.5)
    assert sum("hơi nhanh" in m.text for m in lan.messages) == 1
