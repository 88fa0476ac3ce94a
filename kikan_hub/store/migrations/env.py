"""Alembic environment of the store. The caller passes the connection (store/migrate.py); for
autogenerate it also passes the metadata of every owner (tools/store_revision.py), for an upgrade
none is needed: the revisions spell out their DDL."""
from alembic import context
from alembic.operations import ops

config = context.config
connection = config.attributes.get("connection")
target_metadata = config.attributes.get("metadata")


def _if_not_exists(context, revision, directives) -> None:
    # A canonical table may already exist: created from its definition before a revision shipped it
    # (store/migrate.py create_definition_tables), or an index by an older server start.
    def visit(op_list):
        for op in op_list:
            if isinstance(op, (ops.CreateTableOp, ops.CreateIndexOp)):
                op.if_not_exists = True
            elif isinstance(op, ops.ModifyTableOps):
                visit(op.ops)
    for directive in directives:
        visit(directive.upgrade_ops.ops)


context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                  compare_type=True, process_revision_directives=_if_not_exists)
with context.begin_transaction():
    context.run_migrations()
