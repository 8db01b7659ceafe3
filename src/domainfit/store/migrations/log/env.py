"""Alembic's entry point for the prediction log's migrations: runs on the connection `store.migrate.upgrade` passes
(inside its transaction and lock); a URL in `sqlalchemy.url` also works, for running `alembic` by hand. Importing this
module outside Alembic (the package walk of the API tests) does nothing."""

import sqlalchemy as sa
from alembic import context


def _run(config) -> None:
    connection = config.attributes.get("connection")
    version_table = config.get_main_option("version_table")
    if connection is None:  # `alembic` by hand: a fresh engine from the URL
        with sa.create_engine(config.get_main_option("sqlalchemy.url")).begin() as connection:
            context.configure(connection=connection, version_table=version_table)
            context.run_migrations()
        return
    context.configure(connection=connection, version_table=version_table)
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:  # only when Alembic runs this file
    _run(context.config)
