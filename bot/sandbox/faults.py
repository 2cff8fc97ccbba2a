"""Telegram having a bad moment, on demand: 5xx answers and connections that drop.

The real Bot API is not always there. While a server restarts, Telegram's front end
answers ``502 Bad Gateway`` with an HTML page; the Bot API itself sometimes answers
``500 Internal Server Error`` in its usual JSON; and now and then a connection closes with
the request on the wire and no answer at all, the request carried out or not. Tests and
benchmarks ask the sandbox for such a spell, for some seconds or some requests, on every
method or on the ones they name, to check that nothing the bot promised is lost:

    server.fail_requests(seconds=3)                               # every method answers 500
    server.fail_requests(requests=2, methods=["sendMessage"], status=502)
    server.drop_connections(requests=1, methods=["sendMessage"], processed=True)

A spell ends when its time is up or its requests are spent, whichever comes first, or at
``heal()``. It applies to requests that arrive while it lasts: a long poll already waiting
is answered as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web

# Telegram's front end (nginx) answers these itself, with an HTML page, not the Bot API.
GATEWAY_STATUSES = frozenset({502, 503, 504})
ANSWER, DROP = "answer", "drop"


@dataclass(eq=False)
class Fault:
    """One spell of trouble: what goes wrong, for which methods, and for how long.

    ``hits`` counts the requests it spoilt, so a test can check the bot met it.
    """

    kind: str  # ANSWER (an error status) or DROP (the connection closes unanswered)
    methods: frozenset[str] | None  # lower-case method names; None: every method
    until: float | None  # monotonic deadline, or None
    requests_left: int | None  # requests still to spoil, or None
    status: int = 500  # for ANSWER
    processed: bool = False  # for DROP: the method was carried out before the line dropped
    hits: int = 0

    def active(self, now: float) -> bool:
        in_time = self.until is None or now < self.until
        return in_time and (self.requests_left is None or self.requests_left > 0)

    def applies_to(self, method: str) -> bool:
        return self.methods is None or method.lower() in self.methods

    def spend(self) -> None:
        self.hits += 1
        if self.requests_left is not None:
            self.requests_left -= 1

    def end(self) -> None:
        """Stop now (the test has seen enough)."""
        self.requests_left = 0


class Faults:
    """The spells a sandbox is under; ``take`` picks the one a request meets."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._spells: list[Fault] = []

    def add(
        self,
        kind: str,
        *,
        seconds: float | None,
        requests: int | None,
        methods: Iterable[str] | None,
        status: int = 500,
        processed: bool = False,
    ) -> Fault:
        if seconds is None and requests is None:
            raise ValueError("a fault needs an end: seconds=, requests= or both")
        if (seconds is not None and seconds <= 0) or (requests is not None and requests <= 0):
            raise ValueError("seconds and requests must be positive")
        if kind == ANSWER and not 500 <= status <= 599:
            raise ValueError(f"a fault answers a server error (5xx), not {status}")
        names = None if methods is None else frozenset(m.lower() for m in methods)
        if names is not None and not names:
            raise ValueError("methods=[] matches nothing; leave it out for every method")
        until = None if seconds is None else self._clock() + seconds
        fault = Fault(kind, names, until, requests, status=status, processed=processed)
        self._spells.append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        """The spell this request falls under (counted as spent), or None."""
        now = self._clock()
        self._spells = [fault for fault in self._spells if fault.active(now)]
        for fault in self._spells:
            if fault.applies_to(method):
                fault.spend()
                return fault
        return None

    def clear(self) -> None:
        for fault in self._spells:
            fault.end()
        self._spells.clear()


def error_answer(status: int) -> web.Response:
    """What Telegram sends with a 5xx: the Bot API's JSON, or its front end's HTML page."""
    phrase = HTTPStatus(status).phrase
    if status in GATEWAY_STATUSES:
        page = (
            f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return web.Response(status=status, text=page, content_type="text/html")
    body = {"ok": False, "error_code": status, "description": phrase}
    return web.json_response(body, status=status)
