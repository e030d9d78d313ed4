"""The shape of a rules file (``tui/core/rules/*.toml``): message rules, status code
entries, integration codes and the wrapped-cause patterns, checked as the file is read."""

from __future__ import annotations

from importlib.resources.abc import Traversable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tui.core.tomlfile import read_toml


class RulesError(Exception):
    """A rules file is unreadable or invalid; ``str(err)`` names the file and the rule."""


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    codes: list[str] | None = Field(None, min_length=1)
    message: str | None = None
    fields: str | None = None
    subtype: str
    unwrap: bool = False
    # The rule names a message its `codes` give, for errors that lost their code: it
    # speaks only when the error has no code or one no rule or status entry knows.
    lost_code: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> RuleSpec:
        if self.codes is None and self.message is None and self.fields is None:
            raise ValueError("a rule without codes, message or fields would match everything")
        if self.lost_code and (self.codes is None or self.message is None):
            raise ValueError("a lost_code rule needs the codes it stands for and a message")
        return self

    @property
    def unconditional(self) -> bool:
        return self.message is None and self.fields is None


class StatusSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: list[str] = Field(min_length=1)
    subtype: str | None = None
    reason: str | None = Field(None, min_length=1)
    unwrap: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> StatusSpec:
        if (self.subtype is None) == (self.reason is None):
            raise ValueError("a status entry needs exactly one of 'subtype' or 'reason'")
        return self


class CauseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str
    ends: list[str] = Field(default_factory=list)


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: dict[str, str] = Field(default_factory=dict)
    rule: list[RuleSpec] = Field(default_factory=list)
    status: list[StatusSpec] = Field(default_factory=list)
    cause: list[CauseSpec] = Field(default_factory=list)


def read_rules_file(source: Traversable) -> RulesFile:
    return read_toml(source, RulesFile, RulesError, "rules file")
