"""The command palette's provider: every console action with a key, named in the
current language, with its keys."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from tui.i18n import strings, t


class _Bound(Protocol):
    """What the palette needs of the app (``SyncHealthApp.all_bindings``)."""

    def all_bindings(self, screen: DOMNode | None = None) -> list[tuple[DOMNode, Binding]]: ...


class ConsoleCommands(Provider):
    """Every console action in the command palette, named in the current language."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app = self.app
        described = strings("en")
        seen: set[str] = set()
        commands: list[tuple[str, str, Callable[[], Any]]] = []
        for node, binding in cast(_Bound, app).all_bindings(self.screen):
            key = f"main.keys.{binding.id}"
            if binding.id in seen or key not in described:
                continue
            seen.add(binding.id or "")
            name = t(key)
            keys = app.get_key_display(binding)
            commands.append((name, keys, partial(app.run_action, binding.action, node)))
        return commands

    async def discover(self) -> Hits:
        for name, keys, command in self._commands():
            yield DiscoveryHit(name, command, help=keys)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, keys, command in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=keys)
