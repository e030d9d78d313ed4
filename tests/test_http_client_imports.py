"""The HTTP client the console and the service use makes no module search per request.

httpcore imports ``sniffio`` inside the function that picks the async library, on every
lock, event and semaphore it makes; when sniffio is absent, the failed import is not
remembered and each request walks ``sys.path`` again (encode/httpcore#1103). This drove
a fifth of the load test's client CPU. A real HTTP server on loopback answers here.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import httpx

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _Watch:
    """A meta-path finder that finds nothing and writes down what was looked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(name)
        return None


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass
    writer.close()


async def test_a_request_searches_for_no_module() -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    watch = _Watch()
    try:
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).text == "ok"  # the first one may import lazily
            sys.meta_path.insert(0, watch)
            try:
                for _ in range(3):
                    assert (await client.get(url)).text == "ok"
            finally:
                sys.meta_path.remove(watch)
    finally:
        server.close()
        await server.wait_closed()
    assert watch.names == []
