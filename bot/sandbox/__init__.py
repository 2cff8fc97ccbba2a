"""A local Telegram Bot API server on loopback for the demo, e2e tests and benchmarks.

Nothing in the bot knows about it: the bot is pointed at ``SandboxServer.base_url`` the way
it would be pointed at Telegram, and the sandbox answers as strictly as Telegram does.
"""

from bot.sandbox.faults import Fault
from bot.sandbox.limits import Limits
from bot.sandbox.model import CallbackAnswer, SentMessage, SimChat, SimUser, Stats
from bot.sandbox.server import SandboxServer

__all__ = [
    "CallbackAnswer",
    "Fault",
    "Limits",
    "SandboxServer",
    "SentMessage",
    "SimChat",
    "SimUser",
    "Stats",
]
