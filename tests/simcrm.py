"""A small simulated CRM and the sync engine's Salesforce side, for end-to-end tests.

:class:`SimCrm` holds CRM records (object type, id -> field values) that a test
"fixes" like an admin would. :class:`CollectionsWriter` is how the test's sync engine
writes one record to Salesforce: an sObject Collections update over real HTTP to the
simulated org, answering the record's errors as Salesforce listed them. The engine's
loop itself is the one docs/integrating.md shows (:func:`engine_code`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DOC = Path(__file__).parent.parent / "docs" / "integrating.md"


@dataclass
class SimCrm:
    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    reads: int = 0
    down: bool = False  # reads fail, like a CRM in maintenance

    def read(self, object_type: str, record_id: str) -> dict[str, Any]:
        if self.down:
            raise ConnectionError("the CRM is not answering")
        self.reads += 1
        return dict(self.records[(object_type, record_id)])


@dataclass
class CollectionsWriter:
    """PATCH /composite/sobjects with one record, allOrNone false; its errors or []."""

    org_url: str
    token: str
    api_version: str = "v62.0"

    def __call__(self, salesforce: dict[str, Any], fields: dict[str, Any]) -> list[dict]:
        record = {"attributes": {"type": salesforce["object"]}, "Id": salesforce["id"], **fields}
        answer = httpx.patch(
            f"{self.org_url}/services/data/{self.api_version}/composite/sobjects",
            json={"allOrNone": False, "records": [record]},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        answer.raise_for_status()
        (result,) = answer.json()
        return [] if result["success"] else result["errors"]


def engine_code() -> dict[str, Any]:
    """The names the engine loop of docs/integrating.md defines, from running that block."""
    text = DOC.read_text("utf-8")
    start = text.index("### An engine loop")
    block = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert block is not None, "docs/integrating.md has no engine loop"
    names: dict[str, Any] = {}
    exec(
        compile(block.group(1), str(DOC), "exec"), names
    )  # the doc is ours: running it is the test
    return names
