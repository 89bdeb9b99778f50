"""The migrations and the models describe the same schema, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from contactcenter.db.models import Base


async def test_migrations_match_models(hub):
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)

    async with hub.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
