"""The key bar: the main keys of the screen, in the current language and keymap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

from tui.i18n import t


def binding_keys(bindings: Sequence[tuple[str, Binding]], display: object) -> dict[str, str]:
    """Binding id -> the keys bound to it (joined with '/'), as the user sees them."""
    keys: dict[str, list[str]] = {}
    for _, binding in bindings:
        if binding.id:
            shown = display(binding)  # type: ignore[operator]
            found = keys.setdefault(binding.id, [])
            if shown not in found:
                found.append(shown)
    return {binding_id: "/".join(shown) for binding_id, shown in keys.items()}


class KeyBar(Widget):
    """One line of ``key description`` pairs for the binding ids it was given."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--label"}

    def __init__(self, ids: Sequence[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ids = tuple(ids)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, _screen: object) -> None:
        self.refresh()

    def render(self) -> Text:
        active = [(key, item.binding) for key, item in self.screen.active_bindings.items()]
        keys = binding_keys(active, self.app.get_key_display)
        line = Text(no_wrap=True, overflow="ellipsis")
        key_style = self.get_component_rich_style("keybar--key")
        label_style = self.get_component_rich_style("keybar--label")
        for binding_id in self.ids:
            if binding_id in keys:
                line.append(f" {keys[binding_id]} ", key_style)
                line.append(f" {t(f'main.keys.{binding_id}')} ", label_style)
        return line
