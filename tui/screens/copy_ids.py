"""Copy the affected records' Salesforce ids, or SOQL that selects them, to the
clipboard (OSC 52: it reaches the admin's own terminal over SSH) or to a file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet, Static

from tui.data.soql import IdExport
from tui.i18n import t
from tui.text.safe import clean
from tui.widgets.prose import Prose
from tui.widgets.toggles import StateRadioButton

WHAT = ("ids", "soql")
WHERE = ("clipboard", "file")


class CopyIdsScreen(ModalScreen[str | None]):
    """Dismisses with where the text went ("clipboard" or the file), None if cancelled."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]

    def __init__(self, export: IdExport, default_dir: Path, stamp: str) -> None:
        super().__init__(classes="modal")
        self.export = export
        self.default_dir = default_dir
        self.stamp = stamp

    def _path_for(self, what: str) -> str:
        suffix = "txt" if what == "ids" else "soql"
        return str(self.default_dir / f"synchealth-salesforce-ids-{self.stamp}.{suffix}")

    def compose(self) -> ComposeResult:
        export = self.export
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.copy.title"))
            with VerticalScroll(classes="body") as body:
                body.can_focus = False
                yield Prose(
                    t("modals.copy.count", count=f"{export.count:,}"),
                    classes="intro",
                )
                if export.left_out:
                    yield Prose(
                        t("modals.copy.left_out", count=f"{export.left_out:,}"),
                        classes="warning",
                    )
                yield Label(Content(t("modals.copy.what")), classes="label")
                with RadioSet(id="what"):
                    for n, what in enumerate(WHAT):
                        yield StateRadioButton(
                            Content(t(f"modals.copy.what_{what}")), value=n == 0, id=f"what-{what}"
                        )
                yield Label(Content(t("modals.copy.where")), classes="label")
                with RadioSet(id="where"):
                    for n, where in enumerate(WHERE):
                        yield StateRadioButton(
                            Content(t(f"modals.copy.where_{where}")),
                            value=n == 0,
                            id=f"where-{where}",
                        )
                yield Input(value=self._path_for("ids"), id="path")
                yield Prose(id="message")
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(
                    Content(t("modals.copy.copy")),
                    variant="primary",
                    id="copy",
                    disabled=not export.count,
                )

    def on_mount(self) -> None:
        self.query_one("#path", Input).display = False
        self.query_one("#what", RadioSet).focus()

    def _picked(self, name: str, values: tuple[str, ...]) -> str:
        return values[max(0, self.query_one(f"#{name}", RadioSet).pressed_index)]

    @on(RadioSet.Changed)
    def _changed(self) -> None:
        path = self.query_one("#path", Input)
        if path.value in (self._path_for("ids"), self._path_for("soql")):
            path.value = self._path_for(self._picked("what", WHAT))
        path.display = self._picked("where", WHERE) == "file"

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#copy")
    def _copy(self) -> None:
        if not self.export.count:
            return
        what = self._picked("what", WHAT)
        text = self.export.ids if what == "ids" else self.export.soql
        if self._picked("where", WHERE) == "clipboard":
            self.app.copy_to_clipboard(text)
            self.dismiss("clipboard")
            return
        target = Path(self.query_one("#path", Input).value.strip()).expanduser()
        message = self.query_one("#message", Static)
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as error:
            message.set_class(True, "error")
            message.update(
                t("modals.copy.failed", path=clean(target), reason=clean(error.strerror or error))
            )
            return
        self.dismiss(str(target))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
