"""crawler.identity: the catalog key of a server from whatever a source says about it."""

from __future__ import annotations

import pytest

from crawler.errors import UnsafeURL
from crawler.identity import canonical_repo, package_key, repo_home, safe_http_url, server_key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://github.com/acme/weather-mcp", "github.com/acme/weather-mcp"),
        ("https://github.com/Acme/Weather-MCP/", "github.com/acme/weather-mcp"),
        ("https://github.com/acme/weather-mcp.git", "github.com/acme/weather-mcp"),
        ("http://www.github.com/acme/weather-mcp", "github.com/acme/weather-mcp"),
        ("git+https://github.com/acme/weather-mcp.git", "github.com/acme/weather-mcp"),
        ("git://github.com/acme/weather-mcp.git", "github.com/acme/weather-mcp"),
        ("ssh://git@github.com/acme/weather-mcp.git", "github.com/acme/weather-mcp"),
        ("git@github.com:acme/weather-mcp.git", "github.com/acme/weather-mcp"),
        ("github.com:acme/weather-mcp", "github.com/acme/weather-mcp"),
        ("https://github.com/acme/weather-mcp#readme", "github.com/acme/weather-mcp"),
        ("https://github.com/acme/weather-mcp?tab=readme", "github.com/acme/weather-mcp"),
        ("https://github.com/org/mono/tree/main/packages/slack", "github.com/org/mono/packages/slack"),
        ("https://github.com/org/mono/tree/main/packages/slack/", "github.com/org/mono/packages/slack"),
        ("https://github.com/org/mono/blob/main/src/git/README.md", "github.com/org/mono/src/git"),
        ("https://github.com/org/mono/tree/main", "github.com/org/mono"),
        ("https://github.com/org/mono/issues", "github.com/org/mono"),
        ("https://gitlab.com/cal/cal-mcp.git", "gitlab.com/cal/cal-mcp"),
        (
            "https://gitlab.example.org/group/sub/proj/-/tree/main/srv",
            "gitlab.example.org/group/sub/proj/srv",
        ),
        ("https://api.github.com/repos/acme/weather-mcp", "github.com/acme/weather-mcp"),
        ("  https://github.com/acme/weather-mcp  ", "github.com/acme/weather-mcp"),
    ],
)
def test_canonical_repo(url: str, key: str) -> None:
    assert canonical_repo(url) == key


def test_subfolder_argument_wins_and_is_cleaned() -> None:
    url = "https://github.com/modelcontextprotocol/servers"
    assert canonical_repo(url, "src/fetch") == "github.com/modelcontextprotocol/servers/src/fetch"
    assert canonical_repo(url, "./src/fetch/") == "github.com/modelcontextprotocol/servers/src/fetch"
    assert canonical_repo(url + "/tree/main/src/git", "src/fetch").endswith("/src/fetch")
    assert repo_home(url + "/tree/main/src/git") == "https://github.com/modelcontextprotocol/servers"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "ftp://example.com/owner/repo",
        "https://github.com/acme",
        "https://github.com/",
        "https://localhost/owner/repo",
        "https://github.com/acme/../../etc/passwd",
        "https://github.com/acme/repo\nX-Injected: 1",
        "",
        "   ",
        "not a url",
        "https://github.com/" + "a" * 3000 + "/b",
        "https://github.com/acme/<script>",
    ],
)
def test_unsafe_or_useless_urls_are_rejected(url: str) -> None:
    with pytest.raises(UnsafeURL):
        canonical_repo(url)


def test_server_key_precedence() -> None:
    repo = "https://github.com/acme/weather-mcp"
    assert (
        server_key(repository_url=repo, registry_name="io.github.acme/weather")
        == "github.com/acme/weather-mcp"
    )
    assert (
        server_key(registry_name="io.github.acme/weather", packages=[("npm", "@acme/w")])
        == "io.github.acme/weather"
    )
    assert server_key(registry_name="not a name", packages=[("npm", "@Acme/W")]) == "npm:@acme/w"
    assert server_key(packages=[("mcpb", "https://x/y.mcpb"), ("pypi", "Notes_MCP")]) == "pypi:notes-mcp"
    assert server_key() is None
    with pytest.raises(UnsafeURL):
        server_key(repository_url="javascript:alert(1)", registry_name="io.github.acme/weather")


@pytest.mark.parametrize(
    ("registry", "identifier", "key"),
    [
        ("npm", "@Scope/Name", "npm:@scope/name"),
        ("pypi", "mcp_server.Fetch", "pypi:mcp-server-fetch"),
        ("oci", "docker.io/bob/files-mcp:0.3.0", "oci:bob/files-mcp"),
        ("oci", "ghcr.io/bob/files@sha256:abc", "oci:ghcr.io/bob/files"),
        ("oci", "localhost:5000/files", "oci:localhost:5000/files"),
        ("nuget", "Kim.DbTools", "nuget:Kim.DbTools"),
    ],
)
def test_package_key(registry: str, identifier: str, key: str) -> None:
    assert package_key(registry, identifier) == key


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://weather.acme.dev/mcp", True),
        ("http://127.0.0.1:8000/x", True),
        ("https://{tenant}.example.com/mcp", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("https://", False),
        ("//example.com", False),
        (None, False),
        (42, False),
    ],
)
def test_safe_http_url(url: object, ok: bool) -> None:
    assert (safe_http_url(url) is not None) is ok
