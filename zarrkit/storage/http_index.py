"""Listing over HTTP by reading the directory index pages a server generates.

HTTP has no listing protocol. A server that generates index pages for directories (nginx
``autoindex``, Apache, ``python -m http.server``) links each entry from its directory's page, so
a directory's keys are the relative links of its page: ``"name"`` for a key, ``"name/"`` for a
sub-directory. Links elsewhere (parents, sorting links with query strings, other sites) are left
out, and so are names the server hides (nginx leaves out names starting with a dot).
:class:`zarrkit.storage.object.ObjectStore` lists its HTTP(S) stores through these functions.
"""

from __future__ import annotations

import asyncio
import html.parser
import urllib.error
import urllib.parse
import urllib.request

from zarrkit.errors import PermissionDenied, StoreError, TransientStoreError
from zarrkit.runtime import run_in_pool

_INDEX_TIMEOUT = 30.0  # seconds for one directory index page


async def walk_directory_indexes(
    base_url: str, directory: str, *, headers: dict[str, str], limiter: asyncio.Semaphore
) -> list[str]:
    """Every key below ``directory`` of the site at ``base_url``: its index pages, level by level.

    Keys are relative to ``base_url``, unsorted. Raises as :func:`read_directory_index` does.
    """
    keys: list[str] = []
    level = [directory]
    while level:
        listings = await asyncio.gather(
            *(read_directory_index(base_url, name, headers=headers, limiter=limiter) for name in level)
        )
        level = []
        for found_keys, found_prefixes in listings:
            keys += found_keys
            level += found_prefixes
    return keys


async def read_directory_index(
    base_url: str, directory: str, *, headers: dict[str, str], limiter: asyncio.Semaphore
) -> tuple[list[str], list[str]]:
    """The keys and sub-prefixes (``"a/b/"``) the index page of ``directory`` below ``base_url`` links to.

    ``directory`` is ``""`` or ends with ``"/"``; the names returned start with it. ``headers`` go
    with the request, which waits for a place in ``limiter``. A directory without a page (404)
    is empty. Raises PermissionDenied for 401 and 403, TransientStoreError for 5xx, 408, 429 or an
    unreachable server, StoreError for any other refusal, each naming the page's URL.
    """
    url = f"{base_url.rstrip('/')}/{urllib.parse.quote(directory)}"
    if not url.endswith("/"):
        url += "/"
    async with limiter:
        page = await run_in_pool(_fetch_index_page, url, headers)
    if page is None:
        return [], []
    parser = _LinkCollector()
    parser.feed(page)
    keys: list[str] = []
    prefixes: list[str] = []
    for href in parser.links:
        name = _child_name(url, href)
        if name is not None:
            (prefixes if name.endswith("/") else keys).append(directory + name)
    return keys, prefixes


def _fetch_index_page(url: str, headers: dict[str, str]) -> str | None:
    """The text of the page at ``url`` (blocking; run in the pool), or None for 404."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_INDEX_TIMEOUT) as answer:
            return answer.read().decode(answer.headers.get_content_charset() or "utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        if error.code in (401, 403):
            raise PermissionDenied(
                f"listing {url}: access denied (HTTP {error.code}); the server may not serve directory indexes"
            ) from None
        if error.code >= 500 or error.code in (408, 429):
            raise TransientStoreError(f"listing {url} failed: HTTP {error.code} {error.reason}") from None
        raise StoreError(f"listing {url} failed: HTTP {error.code} {error.reason}") from None
    except OSError as error:
        raise TransientStoreError(f"listing {url} failed: cannot reach the server ({error})") from None


class _LinkCollector(html.parser.HTMLParser):
    """Collects the ``href`` of every ``<a>`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def _child_name(index_url: str, href: str) -> str | None:
    """The entry a link of the index page at ``index_url`` names (``"x"``, ``"dir/"``), or None for
    links elsewhere: parents, sorting links with queries, other sites."""
    target = urllib.parse.urljoin(index_url, href)
    if "?" in target or "#" in target or not target.startswith(index_url):
        return None
    name = urllib.parse.unquote(target[len(index_url) :])
    stem = name[:-1] if name.endswith("/") else name
    if stem in ("", ".", "..") or "/" in stem:
        return None
    return name
