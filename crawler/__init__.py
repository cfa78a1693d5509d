"""mcpcat's crawler: Scrapy spiders over MCP registries, tool extraction and introspection."""
