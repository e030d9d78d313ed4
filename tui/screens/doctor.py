"""The doctor's checks screen: the same checks as ``synchealth doctor``, green / yellow /
red, each with its fix. ``r`` runs them again, ``t`` runs them with a test message on
each enabled notification channel. Findings and fixes are put into the session's
language from their codes. What the service reports is data, never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.core.doctor_models import DoctorCheck, DoctorReport
from tui.data.doctor import fix_text, found_text, run_doctor, worst
from tui.i18n import t
from tui.text.safe import clean
from tui.widgets.prose import Prose

if TYPE_CHECKING:
    from tui.data.session import DataSession


def check_lines(check: DoctorCheck) -> list[Prose]:
    """One check: its status, name and finding; under it, its fix when it has one."""
    name = t(f"doctor.check.{check.id}") + (f" ({clean(check.subject)})" if check.subject else "")
    head = Text()
    head.append(f"{t(f'doctor.status.{check.status}')} {name}: ", style="bold")
    head.append(clean(found_text(check)))
    lines = [Prose(head, classes=f"check {check.status}")]
    if fix := fix_text(check):
        lines.append(Prose(t("doctor.fix", fix=clean(fix)), classes="fix"))
    return lines


class DoctorScreen(ModalScreen[None]):
    CSS_PATH: ClassVar = ["../styles/modals.tcss", "../styles/triage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="modal.close"),
        Binding("r", "run(False)", "Run again", id="doctor.run"),
        Binding("t", "run(True)", "Run with a test send", id="doctor.test"),
    ]

    def __init__(self, session: DataSession) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.report: DoctorReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog doctor") as dialog:
            dialog.border_title = Content(t("doctor.title"))
            yield Static(t("doctor.running"), id="summary", markup=False)
            yield VerticalScroll(id="checks")
            yield Static("", id="calls", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Static(t("doctor.keys"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        self.action_run(False)

    def action_run(self, send_test: bool) -> None:
        waiting = t("doctor.sending" if send_test else "doctor.running")
        self.query_one("#summary", Static).update(waiting)
        self._run(send_test)

    @work(group="doctor", exclusive=True, exit_on_error=False)
    async def _run(self, send_test: bool) -> None:
        self.show(await run_doctor(self.session, send_test))

    def show(self, report: DoctorReport) -> None:
        self.report = report
        verdict = worst(report)
        count = sum(c.status == verdict for c in report.checks)
        summary = self.query_one("#summary", Static)
        summary.update(t(f"doctor.summary_{verdict}", count=count))
        summary.set_classes(f"summary {verdict}")
        checks = self.query_one("#checks", VerticalScroll)
        checks.remove_children()
        checks.mount_all(line for c in report.checks for line in check_lines(c))
        stamp = f"{report.as_of:%H:%M:%S}"
        self.query_one("#calls", Static).update(
            t("doctor.calls", count=report.salesforce_calls, time=stamp)
        )

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
