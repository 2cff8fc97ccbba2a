"""The daily digest of unanswered questions, posted to the staff chat through the outbox.

Staff answer from the chat: a reply to the digest ("12 the answer") or ``/faq 12 the
answer`` makes question 12 an entry; ``/faq 12 =5`` makes it another way to ask entry 5.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from care.core.db import Database
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import to_local
from care.faq.service import FaqService
from care.outreach import Outbox

DIGEST_GROUPS = 10
DIGEST_DAYS = 7  # questions asked in the last week; older ones are in `carebot faq unanswered`


class FaqDigest:
    """Posts the most asked open questions, and wordings waiting for approval, once a day."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        renderer: Renderer,
        outbox: Outbox,
        faq: FaqService,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.renderer = renderer
        self.outbox = outbox
        self.faq = faq
        self.clock = clock

    async def send(self, now: datetime | None = None) -> bool:
        """Queue today's digest unless it was queued already or there is nothing to ask.

        The scheduler's job: safe to run late, twice or in two processes (one key a day).
        """
        now = now or self.clock()
        groups = (await self.faq.unanswered(now - timedelta(days=DIGEST_DAYS)))[:DIGEST_GROUPS]
        pending = (await self.faq.pending())[:DIGEST_GROUPS]
        if not groups and not pending:
            return False
        body = self.renderer.chat(
            self.settings.default_language,
            "faq_digest",
            groups=[
                {"number": g.question_ids[0], "count": g.count, "example": g.example}
                for g in groups
            ],
            pending=[
                {
                    "number": p.confirmation_id,
                    "customers": p.customers,
                    "text": p.text,
                    "entry": p.entry_question,
                }
                for p in pending
            ],
        )
        day = to_local(now, self.settings.timezone).date().isoformat()
        async with self.db.uow() as uow:
            queued = await self.outbox.to_staff(
                uow.session, key=f"faq-digest:{day}", body=body, now=now
            )
            await uow.commit()
        return queued
