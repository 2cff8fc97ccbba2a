"""The schema: migrations match the models, times come back in UTC, transactions hold."""

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

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
