from alembic import context

from kikan_hub.store.schema import build_metadata

target_metadata = build_metadata()
connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
