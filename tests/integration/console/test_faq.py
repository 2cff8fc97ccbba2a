"""The FAQ in the console: unanswered questions grouped, "answer this" makes an entry the
bot answers with at once; entries edited and deleted; bad input kept beside its field."""

from __future__ import annotations

import re

import httpx

from care.faq import asker_key
from care.services import Services
from tests.integration.test_faq_learning import DEMO_FAQ, WORDING


async def test_answer_this_turns_unanswered_questions_into_an_entry(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    for text in ("shop có giao hàng ra đảo không", "Shop có giao hàng ra đảo không?"):
        answer = await services.faq.ask(text, "vi")
        assert answer.entry is None
    page = await client.get("/console/faq")
    table = re.search(r'<table id="unanswered">(.*?)</table>', page.text, re.S)
    assert table is not None and "giao hàng ra đảo" in table.group(1)
    link = re.search(r'href="(/console/faq/new\?[^"]+)"', table.group(1))
    assert link is not None
    form = await client.get(link.group(1).replace("&amp;", "&"))
    assert "giao hàng ra đảo" in form.text
    ids = re.search(r'name="ids" value="([^"]*)"', form.text)
    assert ids is not None and ids.group(1)
    empty = await client.post(
        "/console/faq/new",
        data={
            "csrf": agent,
            "question": "Shop có giao ra đảo không?",
            "answer": "",
            "language": "vi",
            "ids": ids.group(1),
        },
    )
    assert empty.status_code == 400 and "Cần điền mục này" in empty.text
    assert 'value="Shop có giao ra đảo không?"' in empty.text
    done = await client.post(
        "/console/faq/new",
        data={
            "csrf": agent,
            "question": "Shop có giao ra đảo không?",
            "answer": "Có, shop giao ra Phú Quốc và Côn Đảo trong 5 ngày.",
            "language": "vi",
            "alternates": "giao hàng ra đảo\nship ra đảo",
            "ids": ids.group(1),
        },
    )
    assert done.status_code == 303
    assert (await services.faq.ask("ship ra đảo", "vi")).entry is not None
    page = await client.get("/console/faq")
    table = re.search(r'<table id="unanswered">(.*?)</table>', page.text, re.S)
    assert table is not None and "giao hàng ra đảo" not in table.group(1)


async def test_an_entry_is_edited_and_deleted(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    added = await services.faq.add("Giờ mở cửa?", "8h–21h", "vi")
    entry = added.entry.id
    edit = await client.get(f"/console/faq/{entry}")
    assert edit.status_code == 200 and "8h–21h" in edit.text
    saved = await client.post(
        f"/console/faq/{entry}",
        data={"csrf": agent, "question": "Giờ mở cửa?", "answer": "8h–22h mỗi ngày"},
    )
    assert saved.status_code == 303
    assert (await services.faq.entry(entry)).answer == "8h–22h mỗi ngày"  # type: ignore[union-attr]
    gone = await client.post(f"/console/faq/{entry}/delete", data={"csrf": agent})
    assert gone.status_code == 303
    assert await services.faq.entry(entry) is None
    assert (await client.get(f"/console/faq/{entry}")).status_code == 404
    assert (await client.get("/console/faq/abc")).status_code == 404


async def test_staff_approve_a_pending_wording_and_remove_a_learned_one(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    assert not (await services.faq.import_file(DEMO_FAQ)).errors
    entry = next(
        e.id for e in await services.faq.entries("vi") if e.question.startswith("Chính sách đổi")
    )
    for user in (1, 2):
        await services.faq.confirm(entry, WORDING, "vi", asker_key(user))
    page = await client.get("/console/faq")
    pending = re.search(r'<table id="pending-wordings">(.*?)</table>', page.text, re.S)
    assert pending is not None and WORDING in pending.group(1)
    assert '<td class="n">2</td>' in pending.group(1)  # two customers confirmed it
    approve = re.search(r'action="(/console/faq/pending/\d+/approve)"', pending.group(1))
    assert approve is not None

    refused = await client.post(approve.group(1))  # no CSRF token
    assert refused.status_code == 403 and await services.faq.learned() == []
    done = await client.post(approve.group(1), data={"csrf": agent})
    assert done.status_code == 303
    assert (await services.faq.ask(WORDING, "vi")).kind == "answer"
    assert (await client.post(approve.group(1), data={"csrf": agent})).status_code == 404

    page = await client.get("/console/faq")
    learned = re.search(r'<table id="learned-wordings">(.*?)</table>', page.text, re.S)
    assert learned is not None and WORDING in learned.group(1) and "nhân viên" in learned.group(1)
    forget = re.search(r'action="(/console/faq/learned/\d+/forget)"', learned.group(1))
    assert forget is not None
    assert (await client.post(forget.group(1), data={"csrf": agent})).status_code == 303
    assert await services.faq.learned() == []
    assert (await services.faq.ask(WORDING, "vi")).kind == "suggest"
    assert (await client.post(forget.group(1), data={"csrf": agent})).status_code == 404
    assert (
        await client.post("/console/faq/learned/abc/forget", data={"csrf": agent})
    ).status_code == 404
    entries, _ = await services.console.audit_log(limit=10, offset=0)
    assert [e.action for e in entries][:2] == ["faq.forget", "faq.approve"]
