"""The `mcpcat` commands, one module per area; `catalog.cli` registers each module's commands."""
