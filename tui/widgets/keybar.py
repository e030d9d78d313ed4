"""The key bar: the main keys of the screen, in the current language and keymap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
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


#: Keys the bar shows whatever the width: a newcomer must always find help and the way out.
ALWAYS = ("help", "quit")


def fitting(pairs: Sequence[tuple[str, int]], width: int, always: Sequence[str]) -> list[str]:
    """The ids of ``pairs`` (id, cells) that fit in ``width``, in order: every ``always``
    id first, then the others while they fit."""
    room = width - sum(cells for key, cells in pairs if key in always)
    kept = []
    for key, cells in pairs:
        if key in always:
            kept.append(key)
        elif cells <= room:
            kept.append(key)
            room -= cells
        else:
            room = 0  # keep the order: no later, shorter key jumps the queue
    return kept


class KeyBar(Widget):
    """One line of ``key description`` pairs for the binding ids it was given; when the
    line is too narrow, the keys before help and quit give way (see :data:`ALWAYS`)."""

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
        pairs = {
            binding_id: (f" {keys[binding_id]} ", f" {t(f'main.keys.{binding_id}')} ")
            for binding_id in self.ids
            if binding_id in keys
        }
        sizes = [(key, cell_len(k) + cell_len(label)) for key, (k, label) in pairs.items()]
        for binding_id in fitting(sizes, self.content_region.width, ALWAYS):
            key_text, label_text = pairs[binding_id]
            line.append(key_text, key_style)
            line.append(label_text, label_style)
        return line
