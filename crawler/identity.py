"""The catalog's identity of a server (DESIGN.md "Identity"), as pure functions.

A server's key is, in order of preference:

1. its canonical repository URL: ``host/owner/name`` in lower case, without scheme, ``.git``,
   ``www.`` or trailing slash, plus the sub-folder of a monorepo server
   (``github.com/modelcontextprotocol/servers/src/fetch``);
2. else its registry name (``io.github.owner/name``);
3. else its package (``npm:@scope/name``, ``pypi:mcp-server-x``).

Only http(s), ``git+https``, ``git://`` and ``git@host:owner/name`` forms are accepted as
repository URLs; ``javascript:``, ``file:``, ``data:`` and anything else raise `UnsafeURL`,
so a caller can count the record as bad input instead of storing a link nobody should follow.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from crawler.errors import UnsafeURL

__all__ = [
    "canonical_repo",
    "package_key",
    "repo_home",
    "safe_http_url",
    "server_key",
]

# Forges whose repositories are exactly /owner/name; anything after that is a view of the repo.
_OWNER_NAME_HOSTS = {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "gitee.com", "sr.ht"}
_TREE_MARKERS = ("tree", "blob", "src", "-")
_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+\.[a-z]{2,}):(?!//)(?P<path>[^\s]+)$", re.I)
_SAFE_SEGMENT = re.compile(r"^[\w.~@+-]+$")
_REGISTRY_NAME = re.compile(r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")
_MAX_URL = 2000


def safe_http_url(url: object) -> str | None:
    """`url` stripped if it is an absolute http(s) URL with a host, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > _MAX_URL or any(c in url for c in "\r\n\t\x00 "):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _split_repo(url: str) -> tuple[str, list[str]]:
    """Host and path segments of a repository URL in any accepted form; UnsafeURL otherwise."""
    text = url.strip()
    if not text or len(text) > _MAX_URL or any(c in text for c in "\r\n\t\x00"):
        raise UnsafeURL(f"not a repository URL: {text[:80]!r}")
    m = _SCP_LIKE.match(text)
    if m and "://" not in text:
        return m.group("host").lower(), [s for s in m.group("path").split("/") if s]
    try:
        parts = urlsplit(text)
    except ValueError as e:
        raise UnsafeURL(f"unparseable repository URL {text[:80]!r}: {e}") from None
    scheme = parts.scheme.lower()
    if scheme.startswith("git+"):
        scheme = scheme[4:]
    if scheme not in ("http", "https", "git", "ssh"):
        raise UnsafeURL(f"repository URL with scheme {parts.scheme or 'none'!r}: {text[:80]!r}")
    host = (parts.hostname or "").lower()
    if not host or "." not in host:
        raise UnsafeURL(f"repository URL without a host: {text[:80]!r}")
    if host.startswith("www."):
        host = host[4:]
    return host, [unquote(s) for s in parts.path.split("/") if s]


def canonical_repo(url: str, subfolder: str | None = None) -> str:
    """``host/owner/name[/sub/folder]`` in lower case; raises UnsafeURL on a link we won't follow.

    ``/tree/<branch>/<path>`` (GitHub), ``/-/tree/<branch>/<path>`` (GitLab) and
    ``/src/<branch>/<path>`` (Bitbucket) become the sub-folder unless `subfolder` is given.
    """
    host, segs = _split_repo(url)
    if host == "api.github.com" and segs[:1] == ["repos"]:
        host, segs = "github.com", segs[1:]
    if len(segs) < 2:
        raise UnsafeURL(f"repository URL without owner and name: {url[:80]!r}")
    if host in _OWNER_NAME_HOSTS:
        base, rest = segs[:2], segs[2:]
    else:
        # Other forges (self-hosted GitLab, Gitea): the path up to a tree marker.
        cut = next((i for i, s in enumerate(segs) if s in _TREE_MARKERS and i >= 2), len(segs))
        base, rest = segs[:cut], segs[cut:]
    base[-1] = base[-1].removesuffix(".git")
    sub: list[str] = []
    if subfolder:
        sub = [s for s in subfolder.strip().split("/") if s and s != "."]
    else:
        if rest[:1] == ["-"]:
            rest = rest[1:]
        if len(rest) >= 3 and rest[0] in ("tree", "blob", "src"):
            sub = rest[2:]
            if rest[0] == "blob" and sub:
                sub = sub[:-1]  # a file: its folder is the server
    for s in [*base, *sub]:
        if s in (".", "..") or not _SAFE_SEGMENT.match(s):
            raise UnsafeURL(f"repository URL with an unsafe path segment {s!r}: {url[:80]!r}")
    return "/".join([host, *base, *sub]).lower()


def repo_home(url: str) -> str:
    """``https://host/owner/name`` of a repository URL in any accepted form (UnsafeURL otherwise)."""
    return "https://" + canonical_repo(url, "/")


def package_key(registry: str, identifier: str) -> str:
    """``npm:@scope/name``, ``pypi:<PEP 503 name>``, ``oci:image`` (tag and digest dropped)."""
    reg = registry.strip().lower()
    ident = identifier.strip()
    if reg == "pypi":
        ident = re.sub(r"[-_.]+", "-", ident).lower()
    elif reg in ("oci", "docker"):
        reg = "oci"
        ident = ident.split("@", 1)[0]
        last = ident.rsplit("/", 1)[-1]
        if ":" in last:
            ident = ident[: ident.rfind(":")]
        ident = ident.lower().removeprefix("docker.io/")
    elif reg == "npm":
        ident = ident.lower()
    return f"{reg}:{ident}"


def server_key(
    *,
    repository_url: str | None = None,
    subfolder: str | None = None,
    registry_name: str | None = None,
    packages: list[tuple[str, str]] | None = None,
) -> str | None:
    """The key of a server from what a source knows, or None when it knows nothing usable.

    An unsafe repository URL raises UnsafeURL: the caller decides whether to count it and
    fall back (call again without it) or to drop the record.
    """
    if repository_url:
        return canonical_repo(repository_url, subfolder)
    if registry_name and _REGISTRY_NAME.match(registry_name.strip()):
        return registry_name.strip()
    for registry, identifier in packages or []:
        if registry and identifier and registry.lower() in ("npm", "pypi", "oci", "docker", "nuget", "cargo"):
            return package_key(registry, identifier)
    return None
