"""One spider per source; the module and `name` are the source slug."""
