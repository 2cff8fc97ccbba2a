"""``python -m bot.sandbox --port 8081``: the sandbox Bot API server on its own, for manual use.

Point a bot at the printed base URL with any token of the form ``123456:letters``. Users
given with ``--user`` exist from the start, so the bot can write to them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.sandbox.limits import Limits
from bot.sandbox.server import SandboxServer


def _user(value: str) -> tuple[int, str]:
    user_id, _, name = value.partition(":")
    return int(user_id), name or f"User {user_id}"


async def _serve(port: int, limits: Limits, users: list[tuple[int, str]]) -> None:
    async with SandboxServer(port=port, limits=limits) as server:
        for user_id, name in users:
            server.add_user(user_id, name)
        print(f"Telegram Bot API sandbox: {server.base_url}", flush=True)
        print(f"files: {server.base_file_url}", flush=True)
        print("any token like 123456:sandbox works; Ctrl-C stops", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox",
        description="A Telegram Bot API sandbox on 127.0.0.1; any token like 123456:letters.",
    )
    parser.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--no-limits", action="store_true", help="no flood limits (no 429s)")
    parser.add_argument(
        "--user",
        type=_user,
        action="append",
        default=[],
        metavar="ID:NAME",
        help="a user the bot can write to (repeatable)",
    )
    args = parser.parse_args(argv)
    limits = Limits(enabled=not args.no_limits)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, limits, args.user))


if __name__ == "__main__":
    main()
