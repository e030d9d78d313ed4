"""The simulated org's state, in O(metadata) memory.

Which records exist is derived from their ids (ids encode a counter, see ids.py):
record ``n`` of an object exists when ``1 <= n <= population``; it is in the recycle
bin when ``n % DELETED_MODULUS == deleted_residue``; an Account or Opportunity is
private to another team (the integration user may not edit it) when
``n % PRIVATE_MODULUS == private_residue``.
Records created through an upsert get the counters after the population
(``created`` counts them per key prefix); they are never deleted or private.
Only records actually written are kept, in ``written``.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from tui.core.sobjects import KEY_PREFIX
from tui.simorg.ids import make_id

DELETED_MODULUS = 397
PRIVATE_MODULUS = 293

RecordStatus = Literal["live", "deleted", "missing"]

#: Records ever created per key prefix (the org's size).
POPULATION: dict[str, int] = {
    "00Q": 2_000_000,
    "003": 1_500_000,
    "001": 400_000,
    "006": 600_000,
    "00T": 5_000_000,
}

_GIVEN = ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Mei", "Emily", "Daniel", "Sarah", "Kenji"]
_FAMILY = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Smith", "Lee", "Chen"]
QUEUE_NAMES = ("Inside Sales Queue", "Partner Desk", "Kansai Support", "Web Leads (JP)")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    active: bool


@dataclass
class OrgState:
    """Everything the simulated org knows beyond its fixed metadata."""

    seed: int = 7
    users: dict[str, User] = field(default_factory=dict)  # 15-char id -> user
    queues: dict[str, str] = field(default_factory=dict)  # 15-char id -> queue name
    deleted_residue: int = 11
    private_residue: int = 5
    #: Emails of existing people the Lead/Contact duplicate rule matches (lower case).
    duplicate_emails: frozenset[str] = frozenset()
    written: dict[str, dict[str, Any]] = field(default_factory=dict)  # 15-char id -> fields
    created: dict[str, int] = field(default_factory=dict)  # key prefix -> records created
    api_used: int = 0
    token_expires_at: float | None = None  # time.time() after which the token is refused
    unavailable: bool = False  # answer every request with 503, like an org in maintenance
    #: Requests still to be answered with the concurrency limit (long transactions running).
    busy: int = 0

    @classmethod
    def from_seed(cls, seed: int = 7, *, users: int = 40, inactive: int = 6) -> OrgState:
        rng = random.Random(f"simorg:{seed}")
        inactive_set = set(rng.sample(range(2, users + 1), inactive))  # user 1 integrates
        people = {}
        for n in range(1, users + 1):
            uid = make_id(KEY_PREFIX["User"], n)
            name = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
            people[uid[:15]] = User(uid, name, n not in inactive_set)
        queues = {make_id(KEY_PREFIX["Group"], n + 1): q for n, q in enumerate(QUEUE_NAMES)}
        queues = {qid[:15]: name for qid, name in queues.items()}
        dup = frozenset(
            f"{rng.choice(_GIVEN).lower()}.{rng.choice(_FAMILY).lower()}{n}@{dom}"
            for n, dom in enumerate(
                rng.choice(("example.co.jp", "example.com", "example.jp")) for _ in range(400)
            )
        )
        return cls(
            seed=seed,
            users=people,
            queues=queues,
            deleted_residue=rng.randrange(DELETED_MODULUS),
            private_residue=rng.randrange(PRIVATE_MODULUS),
            duplicate_emails=dup,
        )

    # -- what the ids say -----------------------------------------------------

    def status(self, prefix: str, counter: int | None) -> RecordStatus:
        population = POPULATION.get(prefix)
        if counter is None or population is None or counter < 1:
            return "missing"
        if counter > population:
            return "live" if counter <= population + self.created.get(prefix, 0) else "missing"
        if counter % DELETED_MODULUS == self.deleted_residue:
            return "deleted"
        return "live"

    def is_private(self, prefix: str, counter: int) -> bool:
        return (
            prefix in ("001", "006")
            and counter <= POPULATION[prefix]
            and counter % PRIVATE_MODULUS == self.private_residue
        )

    def usable(self, prefix: str, counter: int) -> bool:
        """A live record the integration user may edit."""
        return self.status(prefix, counter) == "live" and not self.is_private(prefix, counter)

    def usable_counter(self, prefix: str, start: int) -> int:
        """The first usable counter at or after ``start`` (wrapping inside the population)."""
        population = POPULATION[prefix]
        n = (start - 1) % population + 1
        while not self.usable(prefix, n):
            n = n % population + 1
        return n

    def deleted_counter(self, k: int) -> int:
        """The k-th record (k >= 0) in the recycle bin, for any object."""
        return k * DELETED_MODULUS + self.deleted_residue or DELETED_MODULUS

    def private_counter(self, k: int) -> int:
        return k * PRIVATE_MODULUS + self.private_residue or PRIVATE_MODULUS

    def next_created_id(self, prefix: str) -> str:
        """The id the next record created with ``prefix`` will get."""
        return make_id(prefix, POPULATION[prefix] + self.created.get(prefix, 0) + 1)

    def create(self, prefix: str, values: dict[str, Any]) -> str:
        """Keep a new record; its id is :meth:`next_created_id` as it was before the call."""
        record_id = self.next_created_id(prefix)
        self.created[prefix] = self.created.get(prefix, 0) + 1
        self.written[record_id[:15]] = dict(values)
        return record_id

    # -- what it holds ----------------------------------------------------------

    def queue_ids(self) -> list[str]:
        return [make_id(KEY_PREFIX["Group"], n + 1) for n in range(len(self.queues))]

    def active_user_ids(self) -> list[str]:
        return [u.id for u in self.users.values() if u.active]

    def inactive_user_ids(self) -> list[str]:
        return [u.id for u in self.users.values() if not u.active]

    def customer_number(self, counter: int) -> str:
        """The unique Customer_Number__c every existing account carries."""
        return f"C{counter:07d}"

    def token_valid(self, now: float | None = None) -> bool:
        return self.token_expires_at is None or (now or time.time()) < self.token_expires_at
