"""The seed help article the product follows, read from ``shared/seed`` beside the checkout.

CI keeps ``shared/`` beside the clone; a worktree may sit one folder deeper, so every folder
above the checkout is tried. A missing article fails the test that wants it: it never skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ARTICLE_NAME = "sync-health-help-article.ja.txt"


def article_text() -> str:
    checkout = Path(__file__).resolve().parents[1]
    for folder in checkout.parents:
        candidate = folder / "shared" / "seed" / ARTICLE_NAME
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    pytest.fail(f"shared/seed/{ARTICLE_NAME} is in no folder above {checkout}")


def bracketed_labels(article: str) -> set[str]:
    """Every ``[label]`` the article names as something on screen."""
    labels: set[str] = set()
    for part in article.split("[")[1:]:
        label, closed, _ = part.partition("]")
        if closed:
            labels.add(label)
    return labels
