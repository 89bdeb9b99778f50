"""The migrations and the models describe the same schema, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from contactcenter.db.models import Base
from contactcenter.search.schema import is_search_object


def _not_search(name, type_, parent_names):
    """The full-text tables and indexes are made by hand (FTS5, expression indexes): no model describes them."""
    return not is_search_object(name)


async def test_migrations_match_models(hub):
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _not_search}), Base.metadata)

    async with hub.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
