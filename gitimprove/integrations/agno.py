"""gitimprove for Agno agents: instructions from the repository, feedback tied to the version
that produced each run.

    from agno.agent import Agent
    from gitimprove.integrations.agno import Improver

    improver = Improver("agents-repo", agent="product-writer",
                        variables={"product_name": "Trail Flask", "audience": "hikers"})
    agent = Agent(model=..., instructions=improver.instructions)
    response = agent.run("Write a product description")
    improver.record_feedback(run=response, rating="negative", reason="Too verbose")

How a run's version is known: Agno calls ``improver.instructions`` while it builds the system
message of each run and passes the run's ``RunContext``, which carries the ``run_id``. That one
call loads the approved version from main and binds ``run_id -> version`` (in memory and in
``.gitimprove/runs.db``, see :mod:`gitimprove.integrations.runs`) before it returns the text.
The binding is made by the same call that chose the text, so a merge landing mid-run cannot
mislabel the run, and there is no hook to install or forget.

What the agent did: the same call also adds a post-hook to the agent (once), which logs the
run's tool executions when the run ends (:meth:`InstructionRepo.record_run`: name, status,
duration; arguments only if the policy keeps them). Every run of an agent that has tools is
logged, rated or not, so tool-use rates have the right denominator.

This module imports nothing from Agno (it reads Agno's objects by attribute), so it type-checks
and imports without Agno installed. See docs/agno.md.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitimprove.errors import GitImproveError
from gitimprove.feedback.errors import FeedbackStoreError, FeedbackWarning
from gitimprove.feedback.models import MAX_RUN_TEXT_CHARS, MAX_TOOL_CALLS, SignalValue
from gitimprove.instructions.repo import Instruction, InstructionRepo
from gitimprove.integrations.runs import DEFAULT_PATH, DEFAULT_RETENTION_DAYS, RunMap

if TYPE_CHECKING:
    from gitimprove.feedback.models import FeedbackRecord
    from gitimprove.patterns.model import Pattern
    from gitimprove.proposals.build import Plan
    from gitimprove.proposals.proposers.base import Proposer

__all__ = ["AgnoRun", "Improver", "Variables"]

# Values for the agent file's {{variables}}: fixed values, or a function of Agno's RunContext
# (None when the instructions are asked for outside a run) that returns them.
Variables = Mapping[str, object] | Callable[[Any], Mapping[str, object]]

TRUNCATED = "\n[... truncated by gitimprove]"


class AgnoRun(Protocol):
    """What :meth:`Improver.record_feedback` reads from Agno's ``RunOutput``: ``run_id`` here,
    and, when present, ``input``, ``content``, ``user_id``, ``session_id`` and ``model``."""

    @property
    def run_id(self) -> str | None: ...


class Improver:
    """One agent of an instruction repository, wired for Agno.

    ``repo`` is a path inside the repository (discovered like git does) or an open
    :class:`InstructionRepo`; ``branch`` is its main branch when a path is given (default: the
    policy's). ``variables`` fills the agent file's ``{{variables}}``: each value comes from
    ``variables`` (a mapping, or a function of Agno's ``RunContext``), else from the run's
    ``session_state``, ``dependencies`` or ``metadata``, the places Agno itself resolves
    ``{name}`` from. ``runs_path`` is the run map (default ``.gitimprove/runs.db`` in the
    repository's working tree); bindings older than ``retention_days`` are pruned.
    ``record_runs=False`` turns off logging each run's tool calls.

    An unknown agent is refused here, not at the first run."""

    def __init__(
        self,
        repo: str | os.PathLike[str] | InstructionRepo = ".",
        *,
        agent: str,
        variables: Variables | None = None,
        branch: str | None = None,
        runs_path: str | os.PathLike[str] | None = None,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        record_runs: bool = True,
    ) -> None:
        self.record_runs = record_runs
        if isinstance(repo, InstructionRepo) and branch is not None:
            raise GitImproveError("branch= is for a repository path; an InstructionRepo has its own",
                                  hint="pass InstructionRepo(path, branch=...) instead")
        self._owns_repo = not isinstance(repo, InstructionRepo)
        self.repo = repo if isinstance(repo, InstructionRepo) else InstructionRepo(repo, branch=branch)
        self.agent = agent
        self.variables = variables
        base = Path(self.repo.git.work_tree or self.repo.git.git_dir)
        self.runs = RunMap(Path(runs_path) if runs_path is not None else base / DEFAULT_PATH,
                           retention_days=retention_days)
        try:
            self.repo.load(agent)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"Improver({self.repo!r}, agent={self.agent!r})"

    def close(self) -> None:
        self.runs.close()
        if self._owns_repo:
            self.repo.close()

    def __enter__(self) -> Improver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- instructions -----------------------------------------------------------------------

    def current(self) -> Instruction:
        """The approved version on main now (what the next run gets)."""
        return self.repo.load(self.agent)

    def _unit(self, run_context: Any, run_id: object) -> str | None:
        """Who is assigned to an arm while a trial runs: the user (else the session) for a
        trial by user, the run for a trial by run; None outside a run."""
        trial = self.repo.running_trial(self.agent)
        if trial is None:
            return None
        if trial.unit == "run":
            return run_id if isinstance(run_id, str) and run_id else None
        for name in ("user_id", "session_id"):
            value = getattr(run_context, name, None)
            if isinstance(value, str) and value:
                return value
        return None

    def instructions(self, run_context: Any = None,
                     session_state: Mapping[str, Any] | None = None, agent: Any = None) -> str:
        """The current approved instructions, ``{{variables}}`` filled in: pass this method
        itself as ``Agent(instructions=improver.instructions)``.

        Agno calls it on every run with the run's ``RunContext`` and the agent (it passes the
        parameters this signature names); the version is bound to that run's ``run_id`` before
        the text is returned, and the agent gets the post-hook that logs the run's tool calls.
        Reads main's tip each time, so an approval or rollback is used by the next run without
        a restart. Callable without arguments too (then nothing is bound)."""
        if agent is not None and self.record_runs:
            self._watch(agent)
        state = _mapping(getattr(run_context, "session_state", None)) or _mapping(session_state)
        run_id = getattr(run_context, "run_id", None) or state.get("current_run_id")
        inst = self.repo.load(self.agent, unit=self._unit(run_context, run_id))
        text = self._fill(inst, run_context, state)
        if isinstance(run_id, str) and run_id:
            try:
                self.runs.bind(self.agent, run_id, inst.version)
            except FeedbackStoreError as exc:
                # NOTE: bookkeeping must not fail the user's run; this process still knows.
                warnings.warn(f"run {run_id} used {self.agent} {inst.label} but the binding was "
                              f"not saved: {exc}", FeedbackWarning, stacklevel=2)
        return text

    def _fill(self, inst: Instruction, run_context: Any, state: Mapping[str, Any]) -> str:
        declared = inst.file.variables
        if not declared:
            return inst.text
        given = self.variables(run_context) if callable(self.variables) else self.variables
        sources = [_mapping(given), state, _mapping(getattr(run_context, "dependencies", None)),
                   _mapping(getattr(run_context, "metadata", None))]
        values: dict[str, str] = {}
        for name in declared:
            for source in sources:
                value = source.get(name)
                if value is not None and not callable(value):
                    values[name] = str(value)
                    break
        missing = [name for name in declared if name not in values]
        if missing:
            shown = ", ".join("{{" + m + "}}" for m in missing)
            raise GitImproveError(
                f"{self.agent} {inst.label} needs a value for {shown}",
                hint=f"pass variables={{{missing[0]!r}: ...}} to Improver, or put "
                     f"{missing[0]!r} in the run's session_state or dependencies")
        return inst.format(**values)

    def _watch(self, agent: Any) -> None:
        """Add :meth:`_after_run` to the agent's post-hooks, once (Agno reads them after the
        model has answered, so the run being built is already covered)."""
        hooks = getattr(agent, "post_hooks", None)
        if hooks is None or (isinstance(hooks, list) and self._after_run not in hooks):
            # NOTE: not an Agno agent (no settable post_hooks): nothing to hook into.
            with contextlib.suppress(AttributeError, TypeError):
                agent.post_hooks = [*(hooks or []), self._after_run]

    def _after_run(self, run_output: Any, agent: Any = None) -> None:
        """Agno post-hook: log the run's tool calls. Never fails the user's run."""
        if agent is not None and not getattr(agent, "tools", None):
            return  # an agent without tools has no decisions to learn from
        try:
            self.record_run(run=run_output)
        except GitImproveError as exc:
            warnings.warn(f"the tool calls of {self.agent} run "
                          f"{getattr(run_output, 'run_id', '?')} were not logged: {exc}",
                          FeedbackWarning, stacklevel=2)

    def record_run(self, run: AgnoRun, *, version: str | None = None) -> FeedbackRecord:
        """Log what the agent did in ``run`` (Agno's ``RunOutput``): its tool executions in
        order, with the run's version from the run map. Done by itself for agents built with
        ``instructions=improver.instructions``; call it for runs made otherwise."""
        run_id = getattr(run, "run_id", None)
        if not isinstance(run_id, str) or not run_id:
            raise GitImproveError("record_run needs an Agno RunOutput with a run_id")
        calls = tool_calls_of(run)
        if len(calls) > MAX_TOOL_CALLS:
            warnings.warn(f"{self.agent} run {run_id} made {len(calls):,} tool calls; the first "
                          f"{MAX_TOOL_CALLS:,} are logged", FeedbackWarning, stacklevel=2)
            calls = calls[:MAX_TOOL_CALLS]
        return self.repo.record_run(agent=self.agent, run_id=run_id, tool_calls=calls,
                                    version=version or self.runs.version(self.agent, run_id))

    def version_of(self, run_id: str) -> str | None:
        """The version (blob id) that produced ``run_id``, or None when it is not known."""
        return self.runs.version(self.agent, run_id)

    # -- feedback ---------------------------------------------------------------------------

    def record_feedback(
        self,
        run_id: str | None = None,
        *,
        run: AgnoRun | None = None,
        rating: str | int | None = None,
        reason: str | None = None,
        correction: str | None = None,
        signals: Mapping[str, SignalValue] | None = None,
        user_id: str | None = None,
        input: str | None = None,
        output: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        version: str | None = None,
        created_at: datetime | str | None = None,
    ) -> FeedbackRecord:
        """Record feedback on one run, attributed to the version that produced it.

        Give ``run_id`` (Agno's ``response.run_id``) or ``run`` (the ``RunOutput`` itself);
        ``run`` also supplies the input, the output and the user id when they are not given,
        and adds ``{"agno": {session_id, agent, model}}`` to the metadata. The version comes
        from the run map; ``version`` overrides it. A run whose version is unknown (not run
        with :meth:`instructions`, or pruned) is recorded without one, with a
        :class:`FeedbackWarning`. Other fields as in :meth:`InstructionRepo.record_feedback`."""
        from_run = getattr(run, "run_id", None) if run is not None else None
        if run_id is not None and from_run is not None and run_id != from_run:
            raise GitImproveError(f"run_id {run_id!r} is not the run given ({from_run!r})",
                                  hint="pass run= or run_id=, not two different runs")
        run_id = run_id or from_run
        if not run_id:
            raise GitImproveError("record_feedback needs the run it is about",
                                  hint="pass run=response or run_id=response.run_id")
        if run is not None:
            input = input if input is not None else _run_input(run)
            output = output if output is not None else _run_output(run)
            user_id = user_id if user_id is not None else _text_attr(run, "user_id")
            metadata = {**_run_metadata(run), **(metadata or {})}
        if version is None:
            version = self.runs.version(self.agent, run_id)
            if version is None:
                warnings.warn(
                    f"no instruction version is known for {self.agent} run {run_id} (it did not "
                    f"get its instructions from Improver.instructions, or its binding is in "
                    f"another run map or was pruned); the feedback is kept without a version",
                    FeedbackWarning, stacklevel=2)
        return self.repo.record_feedback(
            agent=self.agent, run_id=run_id, version=version, rating=rating, reason=reason,
            correction=correction, signals=signals, user_id=user_id, input=input, output=output,
            metadata=metadata or None, created_at=created_at)

    # -- the rest of the loop -----------------------------------------------------------------

    def analyze(self, *, since: datetime | None = None, version: str | None = None) -> list[Pattern]:
        """Patterns in this agent's feedback (see :meth:`InstructionRepo.analyze`), each in the
        state :meth:`propose` sees: ``open``, ``pending`` (cited by an open proposal) or
        ``addressed`` (cited by an approved one)."""
        from gitimprove.proposals.build import evidence_states

        states = evidence_states(self.repo)
        return self.repo.analyze(self.agent, since=since, version=version,
                                 evidence_state=lambda fid: states.get(fid, "open"))

    def propose(self, *, proposer: str | Proposer | None = None, dry_run: bool = False) -> Plan:
        """Turn open feedback patterns into a proposal branch, like ``gitimprove propose``.

        ``proposer``: ``"auto"`` (Anthropic with ``ANTHROPIC_API_KEY``, else the offline
        heuristic), ``"anthropic"``, ``"heuristic"``, a :class:`Proposer`, or None for the
        policy's default. Approval stays a human's: ``gitimprove review <id>`` then
        ``gitimprove approve <id>`` (or a merge of the branch)."""
        from gitimprove.proposals.build import propose
        from gitimprove.proposals.proposers.select import make_proposer

        chosen = (make_proposer(proposer, self.repo.policy().proposer)
                  if proposer is None or isinstance(proposer, str) else proposer)
        return propose(self.repo, self.agent, chosen, dry_run=dry_run)


# -- reading Agno's objects by attribute ------------------------------------------------------

def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _clip(text: str) -> str:
    """Run text within the feedback record's limit: a long run is kept, cut, not refused."""
    if len(text) <= MAX_RUN_TEXT_CHARS:
        return text
    return text[: MAX_RUN_TEXT_CHARS - len(TRUNCATED)] + TRUNCATED


def _text_attr(obj: object, name: str) -> str | None:
    value = getattr(obj, name, None)
    return value if isinstance(value, str) and value else None


def _run_input(run: object) -> str | None:
    run_input = getattr(run, "input", None)
    if run_input is None:
        return None
    as_string = getattr(run_input, "input_content_string", None)
    text = as_string() if callable(as_string) else getattr(run_input, "input_content", run_input)
    return _clip(text if isinstance(text, str) else str(text)) if text is not None else None


def _run_output(run: object) -> str | None:
    content = getattr(run, "content", None)
    if content is None:
        return None
    if isinstance(content, str):
        return _clip(content)
    as_string = getattr(run, "get_content_as_string", None)
    try:
        text = as_string() if callable(as_string) else str(content)
    except (TypeError, ValueError):  # content that is not JSON-serialisable
        text = str(content)
    return _clip(str(text))


def tool_calls_of(run: object) -> list[dict[str, Any]]:
    """The tool executions of an Agno ``RunOutput`` as gitimprove tool calls, in order."""
    out: list[dict[str, Any]] = []
    for tool in getattr(run, "tools", None) or []:
        name = getattr(tool, "tool_name", None)
        if not isinstance(name, str) or not name:
            continue
        call: dict[str, Any] = {"name": name,
                                "status": "error" if getattr(tool, "tool_call_error", None) else "ok"}
        duration = getattr(getattr(tool, "metrics", None), "duration", None)
        if isinstance(duration, int | float) and not isinstance(duration, bool) and duration >= 0:
            call["duration_ms"] = round(duration * 1000)
        args = getattr(tool, "tool_args", None)
        if args is not None:
            call["arguments"] = args
        out.append(call)
    return out


def _run_metadata(run: object) -> dict[str, Any]:
    keep = {"session_id": _text_attr(run, "session_id"),
            "agent": _text_attr(run, "agent_name") or _text_attr(run, "agent_id"),
            "model": _text_attr(run, "model")}
    found = {k: v for k, v in keep.items() if v is not None}
    return {"agno": found} if found else {}
