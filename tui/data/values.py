"""The values the console's data layer hands to screens and widgets.

Views (filter, order), rows and counts read from the cache, and a first fill's progress:
plain frozen data, so a widget can take them without importing the cache's file or the
client's sockets (the import contracts in pyproject.toml).

``ErrorRow`` is the console's row of an error, not the API's ``SyncError``
(tui/core/models.py): the cache reads a million of them, where a pydantic object per row
would cost more than the query; its fields are ``ERROR_COLUMNS`` less ``seq``, which the
cache keeps only to follow the change feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SortColumn = Literal["last_seen", "type", "subtype", "sf_object", "record_name", "attempts", "id"]
SORT_COLUMNS: tuple[str, ...] = (
    "last_seen", "type", "subtype", "sf_object", "record_name", "attempts", "id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CauseRef:
    """A cause a view is narrowed to: its key (tui/core/causes.py), the subtype and object
    the key is made of, and the first line of its message shape, for the filter bar."""

    key: str
    subtype: str
    sf_object: str
    shape: str


@dataclass(frozen=True, slots=True)
class ViewFilter:
    type: str | None = None
    subtype: str | None = None
    status: str | None = "open"  # 'open' | 'resolved' | 'ignored' | None (all)
    text: str = ""  # case-insensitive substring of name, message, sf_id, record_id, sf_code
    record_id: str | None = None
    cause: CauseRef | None = None  # exactly the errors of one cause


@dataclass(frozen=True, slots=True)
class SubtypeNames:
    """How the grid's Error column names subtypes: in ``lang``, each in ``cells`` (None:
    full titles). A sort by subtype follows these names (tui/core/subtype_order.py)."""

    lang: str = "en"
    cells: int | None = None

    @property
    def ranking(self) -> str:
        """The key of their order in the cache's ``subtype_order`` table."""
        return f"{self.lang}:{'' if self.cells is None else self.cells}"


@dataclass(frozen=True, slots=True)
class ViewOrder:
    """The order of a view: a sort column, ties broken by id in the same direction."""

    sort: SortColumn = "last_seen"
    descending: bool = True
    names: SubtypeNames = SubtypeNames()

    def __post_init__(self) -> None:
        if self.sort not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {self.sort!r}")

    def reversed(self) -> ViewOrder:
        return ViewOrder(self.sort, not self.descending, self.names)

    @property
    def key(self) -> str:
        """The column the order walks: for subtypes, their place in the names' order
        (``subtype_order.position``), not their codes."""
        return "position" if self.sort == "subtype" else self.sort

    @property
    def sql(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        if self.sort == "id":
            return f"id {direction}"
        return f"{self.key} {direction}, id {direction}"


@dataclass(frozen=True, slots=True)
class ErrorRow:
    id: int
    type: str
    subtype: str
    object_type: str
    record_id: str
    record_name: str
    sf_object: str
    sf_id: str | None
    direction: str
    sf_code: str
    message: str
    fields: tuple[str, ...]
    first_seen: str
    last_seen: str
    attempts: int
    status: str


@dataclass(frozen=True, slots=True)
class TypeCount:
    type: str
    errors: int
    records: int
    ignored: int = 0  # ignored errors of the type, counted apart from the open ones


@dataclass(frozen=True, slots=True)
class SubtypeCount:
    subtype: str
    errors: int
    records: int


@dataclass(frozen=True, slots=True)
class RecordCount:
    object_type: str
    record_id: str
    record_name: str
    sf_object: str
    sf_id: str | None
    errors: int
    last_seen: str


@dataclass(frozen=True, slots=True)
class FillProgress:
    """How far a first fill of the cache has come (``total`` None: the service did not say)."""

    done: int
    total: int | None
    #: Rows per second stored so far in this run.
    rate: float
    #: Once every row is stored: (steps done, steps) of the indexes and totals built
    #: after them, the last minute or more of a first fill at 1,000,000 rows.
    indexing: tuple[int, int] | None = None

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)

    @property
    def seconds_left(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)
