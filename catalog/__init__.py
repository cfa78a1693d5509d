"""mcpcat's catalog: storage (SQLAlchemy), export and the `mcpcat` command line."""
