"""The schema: migrations match the models, times come back in UTC, transactions hold."""

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select

from care.core.models import Base, Customer
from tests.builders import make_customer


async def test_migrations_create_exactly_the_schema_the_models_describe(services):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with services.db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_times_come_back_as_aware_utc_whatever_the_backend(services):
    customer = await make_customer(services)
    in_saigon = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    async with services.db.uow() as uow:
        row = await uow.session.get(Customer, customer.id)
        row.erased_at = in_saigon
        await uow.commit()
    async with services.db.uow() as uow:
        row = await uow.session.get(Customer, customer.id)
        assert row.erased_at == datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
        assert row.erased_at.tzinfo is not None


async def test_leaving_a_unit_of_work_without_commit_changes_nothing(services):
    async with services.db.uow() as uow:
        uow.session.add(Customer(code="KH-X", name="Trần Văn Bình"))
        await uow.session.flush()
    async with services.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_upgrading_twice_is_harmless(services):
    await services.db.upgrade()
    assert await services.db.current_revision() is not None


async def count_customers(services) -> int:
    async with services.db.uow() as uow:
        return await uow.session.scalar(select(func.count()).select_from(Customer))


async def test_a_service_working_in_a_callers_unit_leaves_the_commit_to_the_caller(services):
    async with services.db.uow(autoflush=False) as owner:
        async with services.db.uow(within=owner) as joined:
            joined.session.add(Customer(code="KH-J", name="Trần Văn Bình"))
            await joined.commit()  # the service's commit: the owner's to make
        assert joined.session is owner.session
        assert await count_customers(services) == 0
        await owner.commit()
    assert await count_customers(services) == 1


async def test_later_writes_wait_for_the_commit_and_go_together(services):
    statements: list[tuple[str, bool]] = []

    def seen(_conn, _cursor, statement, _params, _context, executemany) -> None:
        statements.append((statement.split()[0], executemany))

    rows = Customer.__table__.insert()
    event.listen(services.db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with services.db.uow(autoflush=False) as uow:
            first = {"code": "KH-1", "name": "Lan", "kind": "individual"}
            uow.later(rows, first)
            uow.later(rows, {"code": "KH-2", "name": "Bình", "kind": "individual"})
            taken_back = {"code": "KH-3", "name": "Chi", "kind": "individual"}
            uow.later(rows, taken_back)
            assert uow.take_back(taken_back)
            await uow.session.scalar(select(func.count()).select_from(Customer))
            assert statements == [("SELECT", False)]  # nothing written before the commit
            await uow.commit()
            assert not uow.take_back(first)  # written: too late to take it back
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", seen)
    assert statements == [("SELECT", False), ("INSERT", True)]  # both rows in one statement
    async with services.db.uow() as uow:
        codes = await uow.session.scalars(select(Customer.code).order_by(Customer.code))
        assert codes.all() == ["KH-1", "KH-2"]
