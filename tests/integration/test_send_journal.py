"""The send journal: what a dispatcher handed over and what was accepted, readable after
the dispatcher died, and never taken from a dispatcher that is alive."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from scheduler import send_journal
from scheduler.send_journal import SendJournal

AT = datetime(2026, 11, 23, 3, 0, 0, 250000, tzinfo=UTC)


def test_a_dead_dispatchers_journal_tells_what_was_handed_over_and_accepted(
    tmp_path: Path,
) -> None:
    journal = SendJournal.open(tmp_path)
    journal.handing_over(1)
    journal.accepted(1, AT)
    journal.handing_over(2)
    journal.abandon()  # the process died here: its lock is gone, the file stays

    [orphan] = list(send_journal.orphans(tmp_path))
    with orphan as records:
        assert records is not None
        assert records.token == journal.token
        assert records.handed_over == {1, 2}
        assert records.accepted == {1: AT}
        assert not records.finished
    assert list(tmp_path.glob("*.journal")) == []  # settled, so removed


def test_a_live_dispatchers_journal_is_left_alone(tmp_path: Path) -> None:
    journal = SendJournal.open(tmp_path)
    journal.handing_over(7)
    [orphan] = list(send_journal.orphans(tmp_path))
    with orphan as records:
        assert records is None
    assert journal.path.exists()
    journal.close()
    assert list(tmp_path.iterdir()) == []


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    journal = SendJournal.open(tmp_path)
    journal.accepted(3, AT)
    os.write(journal._fd, b"d 4 17")  # the kill came in the middle of a write
    journal.abandon()
    records = send_journal.read(journal.path, journal.token)
    assert records.accepted == {3: AT}


def test_a_journal_is_removed_only_if_settling_succeeded(tmp_path: Path) -> None:
    journal = SendJournal.open(tmp_path)
    journal.handing_over(5)
    journal.abandon()
    [orphan] = list(send_journal.orphans(tmp_path))
    try:
        with orphan:
            raise ConnectionError("the database is down")
    except ConnectionError:
        pass
    assert journal.path.exists()  # the next drain tries again
