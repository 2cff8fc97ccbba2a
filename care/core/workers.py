"""A worker process for CPU-heavy work, so the bot keeps answering while it runs.

The bot, the scheduler and its jobs share one event loop in one process (``carebot run``).
Work that computes for seconds (rendering a campaign, fitting the CLV models, drawing
charts) would hold that loop; in a thread it would still take turns with the loop for
Python's one interpreter lock, and every reply would wait its turn a few milliseconds at a
time. A process has an interpreter of its own, and it runs at a lower priority than the
bot, so on a busy machine the conversations get the processor first.

A job opens one worker for its length (``async with worker() as work:``) and hands it
plain functions and data, which cross over pickled: the data a step needs, never a
session or a connection (the database stays with the bot's process and its event loop).
Workers start from a fork server that has the heavy modules (numpy, scipy, Jinja2)
loaded already, so a worker is ready in a fraction of a second; once the block ends it
exits. As with every start method but fork, a worker imports the main module of the
process again: a script that runs the bot starts it under ``if __name__ == "__main__":``
(the ``carebot`` command does).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

NICENESS = 10
"""How much lower than the bot a worker's priority is (Unix ``nice``)."""
PRELOAD = [
    "care.analytics.clv",
    "care.analytics.ltv",
    "care.analytics.segmentation",
    "care.outreach.campaigns",
]
"""Modules the fork server imports once, so each worker starts with them loaded."""


class Worker:
    """A worker process: ``await work(function, *args)`` runs the call there."""

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        self._executor = executor

    async def __call__(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )


@contextlib.asynccontextmanager
async def worker() -> AsyncIterator[Worker]:
    """One worker process for the length of the block."""
    # Starting it waits for the fork server, which the first time imports ``PRELOAD``
    # (seconds): a thread waits, not the event loop.
    executor = await asyncio.to_thread(_started)
    try:
        yield Worker(executor)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _started() -> ProcessPoolExecutor:
    """A pool of one worker process, the process running."""
    executor = ProcessPoolExecutor(
        max_workers=1, mp_context=_context(), initializer=_lower_priority
    )
    executor.submit(os.getpid).result()
    return executor


def _context() -> multiprocessing.context.BaseContext:
    """Fork server where there is one (its workers start with ``PRELOAD`` imported and
    never inherit the bot's threads), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICENESS)
