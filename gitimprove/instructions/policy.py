"""The policy file (``gitimprove.yaml`` at the repository root).

The validator reads it from the *target* branch, never from a proposal, so a proposal cannot
loosen the rules it is judged by."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

import gitimprove.instructions.strictyaml as strictyaml
from gitimprove.errors import InvalidFileError

POLICY_PATH = "gitimprove.yaml"
DEFAULT_MODEL = "claude-sonnet-5-5"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    """Scope limits of one proposal."""

    max_operations: int = Field(5, ge=1)
    max_added_chars: int = Field(2000, ge=0)
    allow_remove_rules: StrictBool = False
    max_agent_chars: int = Field(20000, ge=1)
    allow_new_agents: StrictBool = False
    allowed_paths: list[str] = Field(default_factory=lambda: ["agents/*.yaml"])


class ProposerSettings(_Strict):
    default: Literal["auto", "anthropic", "heuristic"] = "auto"
    model: str = DEFAULT_MODEL
    max_tokens: int = Field(4096, ge=256)
    timeout_seconds: float = Field(60.0, gt=0)
    max_patterns: int = Field(8, ge=1)
    max_quotes: int = Field(4, ge=1)
    # Support before a rule: distinct users and runs behind a pattern, and users who must share
    # a wording before it is used as the rule (otherwise it is only quoted as evidence).
    min_users: int = Field(3, ge=1)
    min_runs: int = Field(3, ge=1)
    wording_min_users: int = Field(3, ge=1)


class FeedbackSettings(_Strict):
    url: str | None = None
    # A tool call's arguments can hold personal data: by default only the tool's name, status
    # and duration are stored. True keeps the arguments as compact JSON, cut at the limit.
    store_tool_arguments: StrictBool = False
    tool_argument_chars: int = Field(500, ge=1, le=4000)


class AnalysisSettings(_Strict):
    min_support: int = Field(3, ge=2)
    # the cost cap of the model step of analysis (themes by a model): input and output
    # tokens of all its requests together, for one analysis
    model_max_tokens: int = Field(200_000, ge=1000)


_MODEL_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}\Z")


class EvaluationSettings(_Strict):
    """``gitimprove evaluate``: replaying a proposal on the runs it is meant to fix, judged by a
    model, and the optional gate on approval (docs/evaluation.md)."""

    model: str = DEFAULT_MODEL  # answers the runs again, with the base and the proposed prompt
    judge_model: str | None = None  # compares the answers; default: ``model``
    sample: int = Field(20, ge=1, le=1000)  # runs to fix judged at most (``--sample``)
    keep_sample: int | None = Field(None, ge=0, le=1000)  # runs to keep; default: ``sample``
    max_tokens: int = Field(1024, ge=16)  # of one replayed answer
    max_input_chars: int = Field(20_000, ge=100)  # a run's input beyond this is cut (and counted)
    token_budget: int = Field(400_000, ge=1000)  # input + output tokens of one evaluation
    timeout_seconds: float = Field(60.0, gt=0)
    input_usd_per_mtok: float | None = Field(None, ge=0)  # price; default: by model family
    output_usd_per_mtok: float | None = Field(None, ge=0)
    required: StrictBool = False  # approve and the hooks refuse without a passing scorecard
    min_fixed: float = Field(0.5, ge=0, le=1)  # share of judged runs to fix made better
    max_worse: float = Field(0.1, ge=0, le=1)  # share of judged runs to keep made worse

    @field_validator("model", "judge_model")
    @classmethod
    def _model_name(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_NAME.match(value):
            raise ValueError(f"{value[:60]!r} is not a model name (like {DEFAULT_MODEL})")
        return value

    @property
    def judge(self) -> str:
        return self.judge_model or self.model

    @property
    def keep(self) -> int:
        return self.sample if self.keep_sample is None else self.keep_sample


class FormatRule(_Strict):
    """Files of a framework's format that gitimprove manages in place (see docs/file-formats.md)."""

    path: str = Field(min_length=1, description="A glob over repository paths; `*` also matches `/`.")
    format: str
    name: str = Field("", description="How agents are named: {key}, {stem}, {parent}, {grandparent}.")

    @field_validator("format")
    @classmethod
    def _known(cls, value: str) -> str:
        from gitimprove.instructions.formats import ADAPTERS

        if value not in ADAPTERS:
            raise ValueError(f"unknown format {value!r}; formats: {', '.join(ADAPTERS)}")
        return value

    @field_validator("name")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(key="k", stem="s", parent="p", grandparent="g")
        except (KeyError, IndexError, ValueError):
            raise ValueError("a name template may use only {key}, {stem}, {parent} and {grandparent}") from None
        return value

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.path)


class TrialSettings(_Strict):
    """Whether a human may serve a proposal to part of the traffic, and how much of it."""

    allowed: StrictBool = True
    max_share: float = Field(0.2, gt=0, lt=1)
    unit: Literal["user", "run"] = "user"


class Policy(_Strict):
    """Where agents live, what is protected, and how far a proposal may go."""

    version: Literal[1] = 1
    main_branch: str = "main"
    agents_dir: str = "agents"
    protected_sections: list[str] = Field(default_factory=lambda: ["safety"])
    limits: Limits = Field(default_factory=Limits)
    proposer: ProposerSettings = Field(default_factory=ProposerSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    formats: list[FormatRule] = Field(default_factory=list)
    trials: TrialSettings = Field(default_factory=TrialSettings)

    @field_validator("main_branch")
    @classmethod
    def _branch_name(cls, value: str) -> str:
        # The rules of `git check-ref-format --branch`, in short.
        bad = (not value or value.startswith(("-", "/", ".")) or value.endswith((".", "/", ".lock"))
               or ".." in value or "//" in value or "@{" in value or value == "@"
               or any(c in value for c in " ~^:?*[\\") or any(ord(c) < 32 or ord(c) == 127 for c in value))
        if bad:
            raise ValueError(f"{value!r} is not a valid branch name")
        return value

    @field_validator("agents_dir")
    @classmethod
    def _relative_dir(cls, value: str) -> str:
        norm = posixpath.normpath(value.strip("/"))
        if value.startswith("/") or norm.startswith("..") or norm in ("", "."):
            raise ValueError("agents_dir must be a folder inside the repository, like 'agents'")
        return norm

    def agent_path(self, agent: str) -> str:
        return f"{self.agents_dir}/{agent}.yaml"

    def format_rules(self, path: str) -> list[FormatRule]:
        """The ``formats:`` entries whose glob matches ``path``."""
        return [rule for rule in self.formats if rule.matches(path)]

    def is_protected(self, agent: str, section_id: str) -> bool:
        """Whether the policy protects ``section_id`` of ``agent`` (``protected: true`` aside).

        A pattern ``safety`` matches that section in every agent; ``agent/section`` one agent's;
        both parts may be shell-style globs."""
        for pattern in self.protected_sections:
            agent_pat, _, section_pat = pattern.rpartition("/")
            if fnmatch.fnmatchcase(section_id, section_pat) and (
                not agent_pat or fnmatch.fnmatchcase(agent, agent_pat)
            ):
                return True
        return False


def parse_policy(text: str | bytes, source: str = POLICY_PATH) -> Policy:
    """Parse and validate a policy file; errors name ``source:line:col`` and the field."""
    located = strictyaml.load(text, source)
    if located.value is None:
        return Policy()
    if not isinstance(located.value, dict):
        raise InvalidFileError([f"{source}:1:1: the policy must be a mapping"])
    try:
        return Policy.model_validate(located.value)
    except ValidationError as exc:
        raise InvalidFileError(strictyaml.validation_problems(located, exc),
                               hint="see docs/file-formats.md for the policy format") from None
