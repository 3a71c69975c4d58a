"""The policy file (``gitimprove.yaml`` at the repository root).

The validator reads it from the *target* branch, never from a proposal, so a proposal cannot
loosen the rules it is judged by."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from typing import Any, Literal

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.schema import Record, SchemaError, spec

POLICY_PATH = "gitimprove.yaml"
DEFAULT_MODEL = "claude-sonnet-5-5"
DAY, WEEK = 86_400.0, 604_800.0  # the longest read timeout and model deadline a policy may set


# NOTE: frozen dataclasses checked by gitimprove.instructions.schema, not pydantic models:
# every command reads the policy, and pydantic's import alone costs more than most commands.


@dataclass(frozen=True)
class Limits(Record):
    """Scope limits of one proposal."""

    max_operations: int = spec(5, ge=1)
    max_added_chars: int = spec(2000, ge=0)
    allow_remove_rules: bool = False
    max_agent_chars: int = spec(20000, ge=1)
    allow_new_agents: bool = False
    allowed_paths: list[str] = field(default_factory=lambda: ["agents/*.yaml"])


@dataclass(frozen=True)
class ProposerSettings(Record):
    default: Literal["auto", "anthropic", "heuristic"] = "auto"
    model: str = DEFAULT_MODEL
    max_tokens: int = spec(4096, ge=256)
    timeout_seconds: float = spec(60.0, gt=0, le=DAY)  # of each read of one request
    # wall clock for all the model calls of one `propose` (every agent's, retries included)
    deadline_seconds: float = spec(600.0, gt=0, le=WEEK)
    max_patterns: int = spec(8, ge=1)
    max_quotes: int = spec(4, ge=1)
    # Support before a rule: distinct users and runs behind a pattern, and users who must share
    # a wording before it is used as the rule (otherwise it is only quoted as evidence).
    min_users: int = spec(3, ge=1)
    min_runs: int = spec(3, ge=1)
    wording_min_users: int = spec(3, ge=1)


@dataclass(frozen=True)
class FeedbackSettings(Record):
    url: str | None = None
    # A tool call's arguments can hold personal data: by default only the tool's name, status
    # and duration are stored. True keeps the arguments as compact JSON, cut at the limit.
    store_tool_arguments: bool = False
    tool_argument_chars: int = spec(500, ge=1, le=4000)


@dataclass(frozen=True)
class AnalysisSettings(Record):
    min_support: int = spec(3, ge=2)
    # the cost cap of the model step of analysis (themes by a model): input and output
    # tokens of all its requests together, for one analysis
    model_max_tokens: int = spec(200_000, ge=1000)
    # its wall clock: all its requests, retries and waits included, for one analysis
    model_deadline_seconds: float = spec(600.0, gt=0, le=WEEK)


_MODEL_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}\Z")


def _model_name(value: str) -> str:
    if not _MODEL_NAME.match(value):
        raise ValueError(f"{value[:60]!r} is not a model name (like {DEFAULT_MODEL})")
    return value


@dataclass(frozen=True)
class EvaluationSettings(Record):
    """``gitimprove evaluate``: replaying a proposal on the runs it is meant to fix, judged by a
    model, and the optional gate on approval (docs/evaluation.md)."""

    model: str = spec(DEFAULT_MODEL, check=_model_name)  # answers the runs again, with the base and the proposed prompt
    judge_model: str | None = spec(None, check=_model_name)  # compares the answers; default: ``model``
    sample: int = spec(20, ge=1, le=1000)  # runs to fix judged at most (``--sample``)
    keep_sample: int | None = spec(None, ge=0, le=1000)  # runs to keep; default: ``sample``
    max_tokens: int = spec(1024, ge=16)  # of one replayed answer
    max_input_chars: int = spec(20_000, ge=100)  # a run's input beyond this is cut (and counted)
    token_budget: int = spec(400_000, ge=1000)  # input + output tokens of one evaluation
    timeout_seconds: float = spec(60.0, gt=0, le=DAY)  # of each read of one request
    deadline_seconds: float = spec(3600.0, gt=0, le=WEEK)  # wall clock for all the calls of one evaluation
    input_usd_per_mtok: float | None = spec(None, ge=0)  # price; default: by model family
    output_usd_per_mtok: float | None = spec(None, ge=0)
    required: bool = False  # approve and the hooks refuse without a passing scorecard
    min_fixed: float = spec(0.5, ge=0, le=1)  # share of judged runs to fix made better
    max_worse: float = spec(0.1, ge=0, le=1)  # share of judged runs to keep made worse

    @property
    def judge(self) -> str:
        return self.judge_model or self.model

    @property
    def keep(self) -> int:
        return self.sample if self.keep_sample is None else self.keep_sample


def _known_format(value: str) -> str:
    from gitimprove.instructions.formats import ADAPTERS

    if value not in ADAPTERS:
        raise ValueError(f"unknown format {value!r}; formats: {', '.join(ADAPTERS)}")
    return value


def _name_template(value: str) -> str:
    try:
        value.format(key="k", stem="s", parent="p", grandparent="g")
    except (KeyError, IndexError, ValueError):
        raise ValueError("a name template may use only {key}, {stem}, {parent} and {grandparent}") from None
    return value


_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,199}\Z")


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{value[:60]!r} is not a Python name")
    return value


def _constant(value: str) -> str:
    _identifier(value.removesuffix("()"))
    return value


def _agent_key(value: str) -> str:
    if not value or len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("an agent's name: one line of at most 200 characters")
    return value


@dataclass(frozen=True, kw_only=True)
class Constant(Record):
    """A module constant that holds an agent's instruction, for an agent defined in another
    module of the package (an ADK ``agent.py`` that writes ``instruction=prompt.CONSTANT``)."""

    agent: str = spec(check=_agent_key)  # the agent's `name=` in its agent.py
    constant: str = spec(check=_constant)  # or `name()`: a function that returns one string literal
    field: Literal["instruction", "global_instruction"] = "instruction"


@dataclass(frozen=True, kw_only=True)
class FormatRule(Record):
    """Files of a framework's format that gitimprove manages in place (see docs/file-formats.md)."""

    path: str = spec(min_length=1)  # a glob over repository paths; `*` also matches `/`
    format: str = spec(check=_known_format)
    name: str = spec("", check=_name_template)  # how agents are named: {key}, {stem}, {parent}, {grandparent}
    # google_adk: a prompt module; each entry names a constant of it and the agent using it
    constants: list[Constant] = field(default_factory=list)

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class TrialSettings(Record):
    """Whether a human may serve a proposal to part of the traffic, and how much of it."""

    allowed: bool = True
    max_share: float = spec(0.2, gt=0, lt=1)
    unit: Literal["user", "run"] = "user"


def _branch_name(value: str) -> str:
    # The rules of `git check-ref-format --branch`, in short.
    bad = (not value or value.startswith(("-", "/", ".")) or value.endswith((".", "/", ".lock"))
           or ".." in value or "//" in value or "@{" in value or value == "@"
           or any(c in value for c in " ~^:?*[\\") or any(ord(c) < 32 or ord(c) == 127 for c in value))
    if bad:
        raise ValueError(f"{value!r} is not a valid branch name")
    return value


def _relative_dir(value: str) -> str:
    norm = posixpath.normpath(value.strip("/"))
    if value.startswith("/") or norm.startswith("..") or norm in ("", "."):
        raise ValueError("agents_dir must be a folder inside the repository, like 'agents'")
    return norm


@dataclass(frozen=True)
class Policy(Record):
    """Where agents live, what is protected, and how far a proposal may go."""

    version: Literal[1] = 1
    main_branch: str = spec("main", check=_branch_name)
    agents_dir: str = spec("agents", check=_relative_dir)
    protected_sections: list[str] = field(default_factory=lambda: ["safety"])
    limits: Limits = field(default_factory=Limits)
    proposer: ProposerSettings = field(default_factory=ProposerSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    formats: list[FormatRule] = field(default_factory=list)
    trials: TrialSettings = field(default_factory=TrialSettings)

    def agent_path(self, agent: str) -> str:
        return f"{self.agents_dir}/{agent}.yaml"

    def is_native_path(self, path: str) -> bool:
        """Whether ``path`` is a native agent file: a ``.yaml`` file directly in
        ``agents_dir``. Any other file there (``agents/support.md``) may be adopted."""
        folder, _, name = path.rpartition("/")
        return folder == self.agents_dir and name.endswith(".yaml") and not name.startswith(".")

    def format_rules(self, path: str) -> list[FormatRule]:
        """The ``formats:`` entries whose glob matches ``path``."""
        return [rule for rule in self.formats if rule.matches(path)]

    def is_protected(self, agent: str, section_id: str) -> bool:
        """Whether the policy protects ``section_id`` of ``agent`` (``protected: true`` aside).

        A pattern ``safety`` matches that section in every agent; ``agent/section`` one agent's;
        both parts may be shell-style globs."""
        return any(self._matches(pattern, agent, section_id)
                   for pattern in self.protected_sections)

    def patterns_for(self, agent: str, section_id: str) -> list[str]:
        """The ``protected_sections`` patterns that protect ``section_id`` of ``agent``."""
        return [p for p in self.protected_sections if self._matches(p, agent, section_id)]

    def unmatched_protections(self, sections: dict[str, list[str]]) -> list[str]:
        """The ``protected_sections`` patterns that protect no section of ``sections`` (agent
        name -> its section ids): a section renamed, or an id that changed, leaves its
        protection matching nothing, and nothing else would say so."""
        return [pattern for pattern in self.protected_sections
                if not any(self._matches(pattern, agent, sid)
                           for agent, ids in sections.items() for sid in ids)]

    @staticmethod
    def _matches(pattern: str, agent: str, section_id: str) -> bool:
        agent_pat, _, section_pat = pattern.rpartition("/")
        return fnmatch.fnmatchcase(section_id, section_pat) and (
            not agent_pat or fnmatch.fnmatchcase(agent, agent_pat))


def parse_policy(text: str | bytes, source: str = POLICY_PATH) -> Policy:
    """Parse and validate a policy file; errors name ``source:line:col`` and the field."""
    import gitimprove.instructions.strictyaml as strictyaml  # see agentfile.parse_agent

    located = strictyaml.load(text, source)
    if located.value is None:
        return Policy()
    if not isinstance(located.value, dict):
        raise InvalidFileError([f"{source}:1:1: the policy must be a mapping"])
    try:
        return Policy.model_validate(located.value)
    except SchemaError as exc:
        raise InvalidFileError(strictyaml.validation_problems(located, exc),
                               hint="see `gitimprove docs file-formats` for the policy format") from None


def policy_from_values(values: Any) -> Policy | None:
    """The policy whose YAML gave ``values`` (kept by the parse cache); None when it does not
    validate (:func:`parse_policy` on the text then says what, and where)."""
    if values is None:
        return Policy()
    if not isinstance(values, dict):
        return None
    try:
        return Policy.model_validate(values)
    except SchemaError:
        return None
