"""A dispatcher's send journal: which claimed messages it handed over, and which were accepted.

Claiming a row in the database costs a transaction; doing that for every e-mail would cap
a campaign at the speed of commits. So the dispatcher claims rows in groups (each row
``sending`` with this journal's token) and notes each message in the journal instead: a
line ``s ID`` just before the message goes to the server, ``d ID TIME`` as soon as the
server accepted it. Appending a line is one ``write``, which the kernel keeps even if the
process is killed the next instant.

After a crash the journal tells, for each of its rows still ``sending``:

- accepted (``d``): it went out; it is marked sent;
- handed over without an answer (``s`` only): unknown, so ``uncertain`` and never resent;
- never handed over: nothing went out; back to ``pending``, sent later.

A live dispatcher holds an exclusive ``flock`` on its journal; the kernel drops it when
the process dies, so a journal whose lock can be taken belongs to no one and is recovered
(``orphans``). The file is created under a temporary name and renamed once locked, so a
journal is never seen unlocked before its owner has it.

Like the database's own commits (SQLite's WAL with ``synchronous=NORMAL``), the journal
survives the death of the process, not a power cut of the machine: the lines are not
forced to disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".journal"
END = b"end\n"


@dataclass
class JournalRecords:
    """What a journal says about its rows."""

    token: str
    handed_over: set[int] = field(default_factory=set)
    accepted: dict[int, datetime] = field(default_factory=dict)
    finished: bool = False  # its owner settled every row before closing
    # The Telegram message each accepted row became, for the interaction log (kept in
    # memory only: a group recovered after a crash is logged without them).
    message_ids: dict[int, int] = field(default_factory=dict)


class SendJournal:
    """This dispatcher's journal: open (and locked) while a group of rows is claimed."""

    def __init__(self, path: Path, fd: int, token: str) -> None:
        self.path = path
        self.token = token
        self._fd = fd
        self.records = JournalRecords(token)

    @classmethod
    def open(cls, directory: Path) -> SendJournal:
        """A new, locked journal in ``directory`` with a fresh token."""
        directory.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        temporary = directory / f".{token}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path = directory / f"{token}{SUFFIX}"
            os.rename(temporary, path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return cls(path, fd, token)

    def handing_over(self, row_id: int) -> None:
        """Noted just before the message leaves: from now on its fate is unknown."""
        os.write(self._fd, b"s %d\n" % row_id)
        self.records.handed_over.add(row_id)

    def accepted(self, row_id: int, at: datetime, message_id: int | None = None) -> None:
        """Noted as soon as the other side accepted the message."""
        os.write(self._fd, b"d %d %.6f\n" % (row_id, at.timestamp()))
        self.records.accepted[row_id] = at
        if message_id is not None:
            self.records.message_ids[row_id] = message_id

    def close(self) -> None:
        """Every row is settled in the database: mark the journal finished and remove it."""
        os.write(self._fd, END)
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)

    def abandon(self) -> None:
        """Release the lock and leave the file for recovery (settling failed)."""
        os.close(self._fd)


def read(path: Path, token: str) -> JournalRecords:
    """Parse a journal; a line cut short by a crash is ignored."""
    records = JournalRecords(token)
    with path.open("rb") as stream:
        for line in stream:
            if line == END:
                records.finished = True
                continue
            parts = line.split()
            if not line.endswith(b"\n") or len(parts) < 2 or not parts[1].isdigit():
                continue
            row_id = int(parts[1])
            if parts[0] == b"s":
                records.handed_over.add(row_id)
            elif parts[0] == b"d" and len(parts) == 3:
                records.accepted[row_id] = datetime.fromtimestamp(float(parts[2]), UTC)
    return records


@contextlib.contextmanager
def _orphan(path: Path) -> Iterator[JournalRecords | None]:
    """The records of ``path`` if no live dispatcher holds it; removed after a clean exit."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its dispatcher is alive
            yield None
            return
        if os.fstat(fd).st_nlink == 0:  # its owner finished and removed it meanwhile
            yield None
            return
        yield read(path, path.name.removesuffix(SUFFIX))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(fd)


def orphans(directory: Path) -> Iterator[contextlib.AbstractContextManager[JournalRecords | None]]:
    """Journals of dispatchers that died; each is removed once its ``with`` block exits
    without an error (the rows it covers are settled)."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        yield _orphan(path)
