"""A failure the console puts into words.

Its ``kind`` picks the lead sentence from the locale files (``main.problem.<kind>``), in
the session's language; the technical ``detail`` (English, from the HTTP client or
SQLite) is kept apart and shown as a second line, never inside a Japanese sentence.
"""

from __future__ import annotations

from tui.i18n import t


class Problem(Exception):
    """Base of ``ServiceError`` and ``CacheError``; ``message`` is what a person reads."""

    def __init__(self, detail: str, *, lead: str = "") -> None:
        super().__init__(detail or lead)
        #: The technical sentence (English); may be empty when ``lead`` says it all.
        self.detail = detail
        self._lead = lead

    @property
    def kind(self) -> str:
        """What went wrong, a key of ``main.problem`` and ``main.offline``."""
        return "unreachable"

    @property
    def lead(self) -> str:
        """The sentence of the locale files, in the current language."""
        return self._lead or t(f"main.problem.{self.kind}")

    @property
    def reason(self) -> str:
        """The line under a banner's own lead: the detail, or the lead when it is all."""
        return self.detail or self.lead

    @property
    def message(self) -> str:
        """The lead, then the technical detail on a line of its own."""
        return f"{self.lead}\n{self.detail}" if self.detail else self.lead
