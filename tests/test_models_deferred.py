"""The API's models build their validators on first use, so importing them (at the
console's start) costs no schema building, and they still validate as before."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel, ValidationError

import tui.core.models as models

API_MODELS = [
    value
    for value in vars(models).values()
    if isinstance(value, type)
    and issubclass(value, BaseModel)
    and value.__module__ == models.__name__
]


def test_import_builds_no_validator() -> None:
    code = (
        "import tui.core.models as m, pydantic; "
        "print(sorted(n for n, v in vars(m).items() if isinstance(v, type) "
        "and issubclass(v, pydantic.BaseModel) and v.__pydantic_complete__))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_deferred_models_still_validate() -> None:
    assert len(API_MODELS) > 20
    with pytest.raises(ValidationError, match="seq"):
        models.SyncError.model_validate({"id": 1})
    with pytest.raises(ValidationError, match="extra"):
        models.AllocationUpdate.model_validate({"nope": 1})
