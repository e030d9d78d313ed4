"""The Textual console: opens the data session, refreshes it in the background, runs flows.

Every call to the session happens in a worker; results come back as messages, so
the screen never waits on the service. The app holds what outlives a screen: the
session, the mark set (error ids) and the last known usage.

Longer than ~400 lines on purpose: the app is one object whose key bindings, session
life, refresh and the flows that open the modals all read and write the same state
(session, marks, usage); each flow is a few lines, and splitting the class into
mixins would spread that state over several files. The messages its workers send are
in ``tui/app_messages.py``, the command palette's provider in ``tui/palette.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode

from tui.app_messages import (
    CacheLoaded,
    CacheRebuilt,
    FillProgressed,
    Refreshed,
    ReplayOffered,
    SessionFailed,
    SessionOpened,
)
from tui.config import Config
from tui.core.lang import Lang
from tui.core.models import Usage
from tui.data.actor import actor_name
from tui.data.problem import Problem
from tui.data.session import DataSession, RefreshResult, ViewFilter
from tui.data.session_base import DEFAULT_TIMEOUT
from tui.data.values import ViewOrder
from tui.embedded import open_data_session
from tui.i18n import set_lang, strings, t
from tui.palette import ConsoleCommands
from tui.screens.health import HealthScreen
from tui.text.safe import clean
from tui.widgets.header import Status

if TYPE_CHECKING:  # what later flows take; their modules load with them (issue 11)
    from textual.driver import Driver

    from tui.core.ignore_models import IgnoreResult
    from tui.core.models import CauseSummary

#: Seconds the first refresh waits for the cache to be on screen before it goes on.
CACHE_SHOWN_WAIT = 3.0


def _bindings_of(
    nodes: Iterable[DOMNode], keymap: Mapping[str, str]
) -> list[tuple[DOMNode, Binding]]:
    """Every binding with an id on these nodes, with the user's keymap applied."""
    found: list[tuple[DOMNode, Binding]] = []
    for node in nodes:
        bindings = node._bindings.copy()
        if keymap:
            bindings.apply_keymap(keymap)
        for _key, binding in bindings:
            if binding.id:
                found.append((node, binding))
    return found


class SyncHealthApp(App[int]):
    """synchealth: API usage, sync errors by type, why and how to fix them, resync, export."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "synchealth"
    COMMANDS: ClassVar = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+r", "refresh", "Refresh", id="refresh"),
        Binding("a", "allocation", "Allocation", id="allocation"),
        Binding("n", "notifications", "Notifications", id="notifications"),
        Binding("D", "doctor", "Doctor", id="doctor"),
        Binding("u", "usage_breakdown", "API calls", id="usage_breakdown"),
        Binding("C", "causes", "Causes", id="causes"),
        Binding("H", "history", "History", id="history"),
        Binding("R", "retries", "Automatic retries", id="retries"),
        # i15-trends
        Binding("T", "trends", "Trends", id="trends"),
    ]

    def __init__(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        cache_path: Path | None = None,
        demo_size: int = 5000,
        config: Config | None = None,
        lang: Lang = "en",
        clock: Callable[[], datetime] | None = None,
        profile: str | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        set_lang(lang)
        self.config = config or Config()
        self._open_session = partial(
            open_data_session,
            url=url,
            token=token,
            cache_path=cache_path,
            demo_size=demo_size,
            actor=actor_name(profile),
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        )
        self._clock = clock or (lambda: datetime.now(UTC))
        self.session: DataSession | None = None
        self.marks: set[int] = set()
        self.usage: Usage | None = None
        self.last_refresh: datetime | None = None
        self.refreshing = False
        #: A refresh was asked for while one ran: it follows that one.
        self._refresh_again = False
        self.open_error: str | None = None
        self.open_problem: str | None = None
        #: True once the first load after opening has been shown (tests wait on it)
        self.ready = False
        #: Set when the main screen first shows the cache: the first refresh (which
        #: starts the embedded service) waits for it, so the start does not slow it.
        self._cache_shown = asyncio.Event()

    def get_driver_class(self) -> type[Driver]:
        """Textual's, but on a Linux terminal one whose escape comes after the escape
        delay, not at the input thread's next 0.1-s wake (tui/terminal.py)."""
        from textual.drivers.linux_driver import LinuxDriver

        driver = super().get_driver_class()
        if driver is LinuxDriver:
            from tui.terminal import TerminalDriver

            return TerminalDriver
        return driver

    # -- state shared with the screens ------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def status(self) -> Status | None:
        session = self.session
        if session is None:
            if self.open_error is None:
                return None
            return Status(None, None, False, None, self.open_error, problem=self.open_problem)
        return Status(
            org_name=session.org_name,
            mode=session.mode,
            online=session.online,
            last_refresh=self.last_refresh or session.last_refresh,
            last_error=session.last_error,
            refreshing=self.refreshing,
            problem=session.last_problem,
            fill=session.fill,
            connecting=session.connecting,
        )

    @property
    def main_screen(self) -> HealthScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, HealthScreen)), None)

    def all_bindings(self, screen: DOMNode | None = None) -> list[tuple[DOMNode, Binding]]:
        """Bindings with ids of the app, the screen and its widgets (keymap applied)."""
        screen = screen or self.screen
        nodes: list[DOMNode] = [screen, *screen.query("*"), self]
        return _bindings_of(nodes, self._keymap)

    def _notify_screens(self, *, clear_cache: bool = True) -> None:
        for screen in self.screen_stack:
            changed = getattr(screen, "data_changed", None)
            if changed is not None:
                changed(clear_cache=clear_cache)

    # -- lifecycle --------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.config.keymap:  # the records screen is imported only to check it
            self.set_keymap(self.config.keymap)
            unknown = sorted(set(self.config.keymap) - self._known_ids())
            if unknown:
                self.notify(
                    t("main.notify.unknown_keymap", ids=", ".join(unknown)), severity="warning"
                )
        self.push_screen(HealthScreen())
        self.open_session()

    async def on_unmount(self) -> None:
        gc.unfreeze()  # what the start made is collectable again (frozen in on_refreshed)
        if self.session is not None:
            await self.session.close()
            self.session = None

    @work(group="session", exclusive=True, exit_on_error=False)
    async def open_session(self) -> None:
        from tui.data.cache import CacheError
        from tui.data.client_errors import ServiceError

        try:
            session = await self._open_session()
        except (ServiceError, CacheError) as exc:
            self.post_message(SessionFailed(exc))
        except OSError as exc:
            self.post_message(SessionFailed(CacheError(str(exc))))
        else:
            self.post_message(SessionOpened(session))

    def on_session_opened(self, message: SessionOpened) -> None:
        session = self.session = message.session
        self.open_error = self.open_problem = None
        session.on_rebuilt = lambda _notice: self.post_message(CacheRebuilt(session.cache.moved_to))
        if session.notice:
            self.post_message(CacheRebuilt(session.cache.moved_to))
        session.retry_listeners.append(self._retrying)
        session.on_fill = lambda _progress: self.post_message(FillProgressed())
        self.set_interval(self.config.refresh_interval, self.refresh_data)
        if self.config.health_interval and not session.embedded:
            self.set_interval(self.config.health_interval, self._look_at_health)
        self.refresh_data()

    @work(group="health-look", exclusive=True, exit_on_error=False)
    async def _look_at_health(self) -> None:
        """Between refreshes: the database away or back (or the service) shows within
        ``health_interval`` seconds, not at the next refresh (issue 14)."""
        session = self.session
        if session is not None and await session.look_at_health():
            self.refresh_data()

    @staticmethod
    def _known_ids() -> set[str]:
        """Every binding id of the console (what a keymap may remap)."""
        from tui.screens.records import RecordGrid, RecordsScreen
        from tui.widgets.cards import CardStrip
        from tui.widgets.errorgrid import ErrorGrid
        from tui.widgets.usage import UsageGauge

        ids: set[str] = set()
        for node_class in (
            SyncHealthApp,
            HealthScreen,
            RecordsScreen,
            RecordGrid,
            CardStrip,
            ErrorGrid,
            UsageGauge,
        ):
            merged = node_class._merged_bindings
            if merged is not None:
                ids |= {binding.id for _key, binding in merged if binding.id}
        return ids

    def _retrying(self, failure: Any, attempt: int, retries: int) -> None:
        """A refresh (or a setting) waits on a retry: say so, unless a dialog shows it."""
        from tui.screens.resync import ResyncRunScreen

        if not isinstance(self.screen, ResyncRunScreen):
            self.notify(
                t("main.notify.retrying", reason=failure.message, attempt=attempt,
                  retries=retries),
                severity="warning",
                timeout=5,
                markup=False,
            )  # fmt: skip

    def on_cache_rebuilt(self, message: CacheRebuilt) -> None:
        self.notify(
            t("main.notify.cache_rebuilt", moved=str(message.moved_to or "-")),
            severity="warning",
            timeout=30,
            markup=False,
        )

    def on_session_failed(self, message: SessionFailed) -> None:
        failure = message.failure
        self.open_error, self.open_problem = failure.reason, failure.kind
        self.notify(
            t("main.notify.open_failed", reason=failure.message),
            severity="error",
            timeout=30,
            markup=False,
        )
        if self.main_screen is not None:
            self.main_screen.show_status()

    # -- refresh ----------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Start a refresh, unless one runs: then it follows that one. A running refresh
        is never cancelled (a first fill may outlast the timer and would start over)."""
        if self.session is None:
            return
        if self.refreshing:
            self._refresh_again = True
            return
        self.refreshing = True
        self._refresh()

    @work(group="refresh", exit_on_error=False)
    async def _refresh(self) -> None:
        session = self.session
        if session is None:
            self.refreshing = False
            return
        from tui.data.cache import CacheError
        from tui.data.client_errors import ServiceError

        result: RefreshResult | None = None
        try:
            if self.usage is None and self.last_refresh is None:
                # First refresh: show what the cache holds now, so an offline or slow
                # service never keeps the screen empty while it answers (or times out).
                self.post_message(CacheLoaded(await session.usage()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cache_shown.wait(), CACHE_SHOWN_WAIT)
            try:
                result = await session.refresh()
            except (ServiceError, CacheError) as exc:
                self.notify(t("main.notify.refresh_failed", reason=exc.message), severity="error")
            self.post_message(Refreshed(result, await session.usage()))
            if result is not None and result.online:
                await session.build_search_index()
        except CacheError as exc:
            self.notify(t("main.notify.refresh_failed", reason=exc.message), severity="error")
        finally:
            self.refreshing = False
            if self.main_screen is not None:  # the header said "refreshing…" until now
                self.main_screen.show_status()
            if self._refresh_again:
                self._refresh_again = False
                self.refresh_data()

    def on_fill_progressed(self) -> None:
        if self.main_screen is not None:
            self.main_screen.show_status()

    def on_refreshed(self, message: Refreshed) -> None:
        result = message.result
        if result is not None and result.online:
            self.last_refresh = self.now()
        if result is not None and result.new_errors:
            self._announce_arrivals(result.new_errors)
        self.usage = message.usage
        self._notify_screens(clear_cache=True)
        if not self.ready:
            # What the start made (modules, widgets, the embedded service: ~125,000
            # objects) lives as long as the console; a full collection walked it all
            # (~80 ms at 1,000,000 errors, twice in 30 page-downs). Kept out of the
            # collector's way from here, handed back at the end (on_unmount).
            gc.freeze()
            self.offer_replay()
            if result is not None and result.online:
                self.follow_open_job()
                self.announce_since_last_looked()
        self.ready = True

    @work(group="since-looked", exit_on_error=False)
    async def announce_since_last_looked(self) -> None:
        """Once per start: what changed since this user last looked (nothing: no notice)."""
        from tui.screens.trends import since_text

        session = self.session
        if session is None:
            return
        moved = await session.since_last_looked()
        if moved is not None and moved.any():
            self.notify(since_text(moved), timeout=15)

    @work(group="open-job", exclusive=True)
    async def follow_open_job(self) -> None:
        """A resync job this console started before it was closed: show it again."""
        from tui.data.cache import CacheError
        from tui.data.client_errors import ServiceError
        from tui.screens.resync import ResyncRunScreen

        session = self.session
        if session is None:
            return
        try:
            job_id = await session.open_job()
        except (ServiceError, CacheError):
            return  # the next start tries again; the job goes on in the service
        if job_id is not None:
            self.push_screen(ResyncRunScreen(session, [], job_id), lambda _: self.refresh_data())

    @work(group="replay", exit_on_error=False)
    async def offer_replay(self) -> None:
        """Once per start: batches of an earlier run left unanswered are shown first."""
        session = self.session
        if session is not None and (ids := await session.pending_resync()):
            self.post_message(ReplayOffered(len(ids)))

    def on_replay_offered(self, message: ReplayOffered) -> None:
        from tui.screens.replay import ReplayConfirmScreen
        from tui.screens.resync import ResyncRunScreen

        session = self.session
        if session is None:
            return

        def chosen(send: bool | None) -> None:
            if send:
                self.push_screen(
                    ResyncRunScreen(session, [], replay=True), lambda _s: self.refresh_data()
                )

        self.push_screen(ReplayConfirmScreen(message.errors), chosen)

    def _announce_arrivals(self, new_errors: dict[str, int]) -> None:
        """One toast for every error new to the console, however many arrived."""
        from tui.text.arrivals import arrivals_text

        self.notify(
            arrivals_text(new_errors),
            title=t("main.arrivals.title"),
            severity="warning",
            timeout=10,
        )

    def on_cache_loaded(self, message: CacheLoaded) -> None:
        if self.last_refresh is None:
            if message.usage is not None:
                self.usage = message.usage
            self._notify_screens(clear_cache=True)

    def on_health_screen_cache_shown(self) -> None:
        self._cache_shown.set()

    def action_refresh(self) -> None:
        if self.session is None:
            return
        self.refresh_data()
        if self.main_screen is not None:
            self.main_screen.show_status()

    # -- flows that open the modals ------------------------------------------------------

    def start_resync(self, ids: Sequence[int], hidden: int, ignored: int = 0) -> None:
        """Confirm, then resync ``ids`` as one job (with progress); refresh afterwards.
        ``ignored`` marked errors were left out (the dialog says so)."""
        from tui.screens.resync import ResyncConfirmScreen, ResyncRunScreen

        session = self.session
        if session is None or not ids:
            return
        chosen = list(ids)

        def finished(summary: Any) -> None:
            if summary is not None and getattr(summary, "refused", None) is None:
                self.marks.difference_update(chosen)
            self.refresh_data()

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.push_screen(ResyncRunScreen(session, chosen), finished)

        plan = session.resync_plan(len(chosen))
        self.push_screen(ResyncConfirmScreen(plan, hidden, ignored), confirmed)

    def start_ignore(
        self,
        ids: Sequence[int] = (),
        cause: CauseSummary | None = None,
        after: Callable[[], object] | None = None,
    ) -> None:
        """The ignore dialog for ``ids`` (or the open errors of ``cause``); on Ignore the
        ignored errors leave the marks, the data is refreshed and ``after`` runs."""
        from tui.screens.ignore import IgnoreScreen

        session = self.session
        if session is None:
            return
        chosen = list(ids)
        if cause is None:
            question = t("ignore.question_errors", count=len(chosen))
        else:
            shape = cause.template.splitlines()[0] if cause.template else cause.subtype
            question = t("ignore.question_cause", count=cause.open_errors, cause=clean(shape))

        async def save(reason: str, expiry: datetime | int | None) -> IgnoreResult:
            assert session is not None
            if cause is not None:
                return await session.ignore(reason, expiry, cause=cause.cause)
            return await session.ignore(reason, expiry, error_ids=chosen)

        def done(result: IgnoreResult | None) -> None:
            if result is None:
                return
            self.marks.difference_update(result.changed)
            self.notify(t("ignore.done", count=len(result.changed)))
            self.refresh_data()
            if after is not None:
                after()

        self.push_screen(IgnoreScreen(question, save, self.now), done)

    async def unignore(self, ids: Sequence[int]) -> None:
        """Unignore ``ids`` (the ones that are ignored) and say how many came back."""
        if self.session is None:
            return
        try:
            result = await self.session.unignore(error_ids=list(ids))
        except Problem as exc:
            self.notify(t("ignore.unignore_failed", message=clean(exc.message)), severity="error")
            return
        if result.changed:
            self.notify(t("ignore.unignored", count=len(result.changed)))
        else:
            self.notify(t("ignore.none_ignored"), severity="warning")
        self.refresh_data()

    def start_export(self, view: ViewFilter, sort: ViewOrder = ViewOrder("id", False)) -> None:
        """The export dialog for ``view``, writing rows in ``sort``."""
        from tui.screens.export import ExportScreen

        if self.session is None:
            return
        default_dir = self.config.export_dir or Path.cwd()

        def done(rows: int | None) -> None:
            if rows is not None:
                self.notify(t("main.notify.exported", count=rows))

        dialog = ExportScreen(self.session, view, frozenset(self.marks), default_dir, sort=sort)
        self.push_screen(dialog, done)

    def action_allocation(self) -> None:
        from tui.screens.allocation import AllocationScreen

        session = self.session
        if session is None or self.usage is None:
            self.notify(t("main.notify.no_usage"), severity="warning")
            return

        def saved(usage: Usage | None) -> None:
            if usage is not None:
                self.usage = usage
                if self.main_screen is not None:
                    self.main_screen.show_status()
                self.refresh_data()

        self.push_screen(AllocationScreen(self.usage, session.set_allocation), saved)

    def action_notifications(self) -> None:
        from tui.screens.notifications import NotificationsScreen

        if self.session is not None:
            self.push_screen(NotificationsScreen(self.session))

    def action_doctor(self) -> None:
        from tui.screens.doctor import DoctorScreen

        if self.session is not None:
            self.push_screen(DoctorScreen(self.session))

    def action_causes(self) -> None:
        from tui.screens.causes import CausesScreen

        if self.session is None:
            return

        def chosen(view: ViewFilter | None) -> None:
            screen = self.main_screen
            if screen is not None:
                if view is not None:
                    screen.set_view(view)
                else:  # the marks may have grown
                    screen.data_changed(clear_cache=False)

        self.push_screen(CausesScreen(self.session, self.marks, self.now), chosen)

    def action_usage_breakdown(self) -> None:
        from tui.screens.usage_breakdown import UsageBreakdownScreen

        if self.session is not None:
            self.push_screen(UsageBreakdownScreen(self.session))

    def action_trends(self) -> None:
        """New vs resolved per day: of the cause under the causes view's cursor, else of the
        type the grid is narrowed to, else of all errors."""
        from tui.screens.causes import CausesScreen
        from tui.screens.trends import TrendScreen

        session = self.session
        if session is None:
            return
        type_code = cause = None
        if isinstance(self.screen, CausesScreen):
            chosen = self.screen.current_cause()
            cause = chosen.cause if chosen is not None else None
        elif self.main_screen is not None:
            type_code = self.main_screen.view.type
        self.push_screen(TrendScreen(session, self.now().date(), type_code, cause))

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        if self.session is not None:
            self.push_screen(HistoryScreen(self.session, self.now()))

    def action_retries(self) -> None:
        from tui.screens.retries import RetriesScreen

        if self.session is not None:
            self.push_screen(RetriesScreen(self.session.client), lambda _: self.refresh_data())

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        rows: dict[str, tuple[str, str, str]] = {}
        for _node, binding in self.all_bindings():
            key = f"main.keys.{binding.id}"
            if binding.id is None or key not in strings("en"):
                continue
            shown = self.get_key_display(binding)
            if binding.id in rows:
                previous = rows[binding.id]
                if shown not in previous[1].split(" / "):
                    rows[binding.id] = (binding.id, f"{previous[1]} / {shown}", previous[2])
            else:
                rows[binding.id] = (binding.id, shown, t(key))
        self.push_screen(HelpScreen(list(rows.values())))
