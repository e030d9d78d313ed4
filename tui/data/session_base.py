"""The life of a ``DataSession``: its client and cache opened together, a cache damaged
while running moved aside and rebuilt, everything it owns closed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from tui.core.models import Usage
from tui.data import paths
from tui.data.cache import Cache, CacheDamaged, CacheError
from tui.data.cache_file import check_location
from tui.data.client_errors import RetryListener, check_service_url
from tui.data.fill import SNAPSHOT_CHUNK
from tui.data.values import FillProgress, ViewFilter

if TYPE_CHECKING:
    import httpx

    from tui.data.client import ServiceClient

PAGE_SIZE = 10000
#: Seconds a request waits for the service before "the service is slow".
DEFAULT_TIMEOUT = 15.0
T = TypeVar("T")


class Closable(Protocol):
    """What a session may own besides its client and cache (the embedded service)."""

    async def aclose(self) -> None: ...


def _cache_path(service_key: str) -> Path:
    """The cache file for a service; CacheError when its folder cannot be made."""
    try:
        return paths.cache_path_for(service_key)
    except OSError as exc:
        if exc.filename:
            check_location(Path(exc.filename) / "cache.sqlite3")  # says what is wrong
        raise CacheError(f"Cannot use the cache folder: {exc.strerror or exc}.") from exc


class SessionBase:
    """The session's parts and its life: open, the cache's recovery, close.

    The client of the service is made when the session first asks the service something
    (``client``), not when the session opens: the console shows its cache without
    importing the HTTP client and the API's models (issue 11: the start).
    """

    def __init__(
        self,
        client: ServiceClient | Callable[[list[RetryListener]], ServiceClient],
        cache: Cache,
        owned: Closable | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        #: What makes the client, given the retry listeners it calls; or the client.
        self._client = client
        self.cache = cache
        #: The client's retry listeners, kept here so the console adds its own before
        #: the client is made.
        self.retry_listeners: list[RetryListener] = (
            [] if callable(client) else client.retry_listeners
        )
        self._owned = owned
        self.page_size = page_size
        #: Errors per snapshot request of a first fill.
        self.snapshot_chunk = SNAPSHOT_CHUNK
        self.org_name: str | None = None
        self.mode: str | None = None
        self.resync_mode = "direct"
        self.online = False
        #: True until the first refresh ends (answered or failed): the service may
        #: still be starting, so the console says "connecting", not "offline".
        self.connecting = True
        self.last_refresh: datetime | None = None
        self.last_error: str | None = None
        #: The kind of ``last_error`` (``Problem.kind``).
        self.last_problem: str | None = None
        #: Set when the cache file was damaged and rebuilt: where the old one went.
        self.notice: str | None = cache.notice
        self._usage: Usage | None = None
        self._refresh_lock = asyncio.Lock()
        #: Open errors new to the cache, per type, pulled since ``refresh`` last reported them.
        self._arrived: Counter[str] = Counter()
        self._resync_lock = asyncio.Lock()
        #: Called with the notice when a damaged cache was moved aside while running.
        self.on_rebuilt: Callable[[str], object] | None = None
        self._rebuilds = 0
        self._rebuild_lock = asyncio.Lock()
        #: Set while a first fill runs; ``on_fill`` hears of each page stored.
        self.fill: FillProgress | None = None
        self.on_fill: Callable[[FillProgress], object] | None = None
        #: The database's state in the last health answer ("ok", "unavailable"), or "no
        #: answer"; None before the first (``FeedPulls.look_at_health``).
        self._health_seen: str | None = None

    @property
    def embedded(self) -> bool:
        """The service runs in this process (it owns it): it is never away on its own."""
        return self._owned is not None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        token: str | None = None,
        cache_path: Path | None = None,
        cache_key: str | None = None,
        transport: httpx.AsyncBaseTransport | Callable[[], httpx.AsyncBaseTransport] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        actor: str | None = None,
        owned: Closable | None = None,
    ) -> Self:
        """Open the cache; the client of the service at ``url`` is made on first use.

        ``transport`` replaces the network for ``url`` (tests, in-process services), or
        makes what does when the client is made (the embedded service's);
        ``cache_key`` names the cache file instead of ``url`` (the embedded service, whose
        URL is never resolved); ``timeout`` is how long a request waits for an answer
        before it counts as slow, ``retries`` how often an idempotent request is tried
        again; ``actor`` names us in the service's history (default ``user@host``).
        ``owned`` is closed with the session, or at once if the session cannot open: the
        composition root (tui/embedded.py) hands over the service it started this way.
        """
        try:
            key = cache_key or check_service_url(url)
            cache = await Cache.open(cache_path or _cache_path(key))
        except BaseException:
            if owned is not None:
                await owned.aclose()
            raise

        def client(listeners: list[RetryListener]) -> ServiceClient:
            from tui.data.client import ServiceClient

            return ServiceClient(
                url,
                token,
                transport=transport() if callable(transport) else transport,
                timeout=timeout,
                retries=retries,
                actor=actor,
                retry_listeners=listeners,
            )

        session = cls(client, cache, owned)
        await session._load_cached()
        return session

    @property
    def client(self) -> ServiceClient:
        """The client of the service, made on first use."""
        if callable(self._client):
            self._client = self._client(self.retry_listeners)
        return self._client

    async def _load_cached(self) -> None:
        health = await self.cache.get_meta("health")
        if health:
            self.org_name, self.mode = health.get("org_name"), health.get("mode")
            self.resync_mode = health.get("resync_mode") or "direct"
        usage = await self.cache.get_meta("usage")
        self._usage = Usage.model_validate(usage) if usage else None
        stamp = await self.cache.get_meta("last_refresh")
        self.last_refresh = datetime.fromisoformat(stamp) if stamp else None

    async def _recover(self, seen: int) -> None:
        """Move the damaged cache aside and start afresh (once, however many reads failed)."""
        async with self._rebuild_lock:
            if self._rebuilds != seen:
                return
            self.notice = await self.cache.rebuild()
            self._rebuilds += 1
            self.last_refresh = None
        if self.on_rebuilt is not None:
            self.on_rebuilt(self.notice)

    async def _read(self, query: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """A cache query; a damaged file is rebuilt and the query runs again on the new one.

        A view narrowed to a cause first keys the errors the feed brought since it was
        last asked (``Cache.key_causes``), so the query sees every error of the cause.
        """
        seen = self._rebuilds
        try:
            await self._key_causes(args)
            return await query(*args, **kwargs)
        except CacheDamaged:
            await self._recover(seen)
            await self._key_causes(args)
            return await query(*args, **kwargs)

    async def _key_causes(self, args: tuple[Any, ...]) -> None:
        for arg in args:
            if isinstance(arg, ViewFilter) and arg.cause is not None:
                await self.cache.key_causes(arg.cause)

    async def close(self) -> None:
        try:
            if not callable(self._client):  # never made: nothing to close
                await self._client.aclose()
            await self.cache.close()
        finally:
            if self._owned is not None:
                await self._owned.aclose()
                self._owned = None

    async def _store_usage(self, usage: Usage) -> Usage:
        self._usage = usage
        await self.cache.set_meta("usage", usage.model_dump(mode="json"))
        return usage
