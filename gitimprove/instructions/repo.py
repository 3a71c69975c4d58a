"""The instruction repository: agents, their versions, and cheap runtime loading."""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from gitimprove.cycles import paused
from gitimprove.dataclass import dataclass, field
from gitimprove.errors import (
    GitImproveError,
    InvalidFileError,
    UnknownAgentError,
    UnknownRevisionError,
)
from gitimprove.git import SYMLINK_MODE, Oid, Repository, git_runs
from gitimprove.instructions.agentfile import (
    AgentFile,
    agent_from_values,
    fill_variables,
    former_ids,
    parse_agent,
    protected_ids,
    render,
)
from gitimprove.instructions.formats.catalog import Catalog, Place, adapter_for, build, parse_file
from gitimprove.instructions.parsecache import MISSING, ParseCache
from gitimprove.instructions.policy import (
    POLICY_PATH,
    Constant,
    FormatRule,
    Policy,
    parse_policy,
    policy_from_values,
)
from gitimprove.instructions.versions import Version, VersionIndex
from gitimprove.refnames import running_trial_ref
from gitimprove.text import did_you_mean

_warning_sink: Callable[[str], None] | None = None  # see send_warnings_to
# Seconds for which a record written trusts main's tip as last read (see feedback_store): less
# than any git command takes to run, so a main moved before a record was written is seen.
TIP_RECHECK = 0.001
# NOTE: os.environ.get of a variable that is not set raises and catches a KeyError inside (0.7
# µs, on the path of every record written); the mapping os.environ keeps in step with the
# environment, read directly, costs a dict lookup.
_ENVIRON: dict[bytes, bytes] | None = getattr(os.environ, "_data", None) if os.name == "posix" \
    else None


def _environ_get(name: str) -> bytes | str | None:
    """The value of environment variable ``name`` (None when unset), only to compare it."""
    return os.environ.get(name) if _ENVIRON is None else _ENVIRON.get(name.encode())


def send_warnings_to(sink: Callable[[str], None] | None) -> None:
    """Hand the library's warnings to ``sink`` instead of the ``gitimprove`` logger (the command
    line prints them as ``warning:`` lines); None: the logger again."""
    global _warning_sink
    _warning_sink = sink


def _warn(message: str, *args: object) -> None:
    """A warning on the ``gitimprove`` logger (logging is imported only when one is given)."""
    if _warning_sink is not None:
        _warning_sink(message % args if args else message)
        return
    import logging

    logging.getLogger("gitimprove").warning(message, *args)


@dataclass(frozen=True)
class TrialArm:
    """Which arm of a running trial served an instruction: ``candidate`` or ``live``."""

    trial_id: str
    proposal: str
    arm: str

    def __str__(self) -> str:
        return self.arm


def trial_bucket(trial_id: str, unit: str) -> float:
    """A stable number in [0, 1) for a unit in a trial: the unit is in the candidate arm when
    it is below the share. The trial id is part of the hash, so each trial draws its own users
    and a user keeps their arm for the trial's length."""
    import hashlib  # only while a trial runs; OpenSSL's start-up is a cost every command paid

    digest = hashlib.blake2b(f"{trial_id}\0{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 18446744073709551616.0


_BUCKETS_KEPT = 65_536  # units whose bucket a repository object remembers, per trial


class _Buckets(dict[str, float]):
    """:func:`trial_bucket` of one trial, remembered per unit: a user makes many runs, and
    the hash was a third of what a trial adds to a warm ``load()``. Bounded: when full, it
    starts again (the value is the same whenever it is computed)."""

    __slots__ = ("trial_id",)

    def __init__(self, trial_id: str) -> None:
        super().__init__()
        self.trial_id = trial_id

    def __missing__(self, unit: str) -> float:
        if len(self) >= _BUCKETS_KEPT:
            self.clear()
        value = self[unit] = trial_bucket(self.trial_id, unit)
        return value


_record_feedback: Callable[..., FeedbackRecord] | None = None


def _import_record_feedback() -> Callable[..., FeedbackRecord]:
    """capture.record_feedback, imported on first use (start-up) and then kept: an import
    statement costs more than the rest of a call that runs once per agent run."""
    global _record_feedback
    from gitimprove.feedback.capture import record_feedback

    _record_feedback = record_feedback
    return record_feedback


@dataclass(frozen=True)
class Instruction:
    """What an agent run needs: the rendered prompt and the version that produced it."""

    agent: str
    text: str
    version: Oid
    number: int | None
    commit: Oid | None
    tip: Oid
    file: AgentFile = field(repr=False)
    file_format: str = "native"
    trial: TrialArm | None = None
    fallback_from: Oid | None = None  # the tip's blob, when it does not validate
    problem: str | None = None  # why it does not (the first problem found)
    # an adopted agent's entry as its framework reads it (see data()); shared by every caller
    # of a cached load, so only ever handed out as a copy
    entry_data: Any = field(default=None, repr=False, compare=False)

    def data(self) -> Any:
        """The agent's entry as its framework reads it, for an agent adopted in place; a fresh
        copy on each call. A crewAI agent's mapping (role, goal, backstory and the rest: pass
        it as ``Agent(config=inst.data())``), a cagent agent's, a prompt file's document
        (``.prompt.yml``, Semantic Kernel), a Markdown file's front matter and body, an ADK
        agent's instruction strings by keyword. None for gitimprove's own files: use
        :attr:`text` and :meth:`format`."""
        import copy

        return copy.deepcopy(self.entry_data)

    @property
    def label(self) -> str:
        return f"v{self.number}" if self.number is not None else self.version[:10]

    def format(self, **values: str) -> str:
        """The prompt with its variables filled in (``{{name}}``, or the syntax of the agent's
        file format); every declared variable is required."""
        if self.file_format == "native":
            return fill_variables(self.text, values, self.file.variables)
        from gitimprove.instructions.formats import ADAPTERS

        return ADAPTERS[self.file_format].fill(self.text, values, self.file.variables)


def _version_in(parsed: ParsedFile, entry: Entry, blob: Oid) -> Oid:
    """The version of an adopted agent (``entry``) in ``blob`` of its file: the blob, for the
    only agent of the file; for one of several, a fingerprint of its part."""
    return blob if len(parsed.entries) == 1 else Oid(parsed.fingerprint(entry))


@dataclass(frozen=True)
class AgentAt:
    """An agent file as stored at one commit."""

    name: str
    path: str
    blob: Oid
    raw: bytes
    file: AgentFile
    commit: Oid
    format: str = "native"
    key: str | None = None  # the agent's name inside an adopted file
    file_blob: Oid | None = None  # the file's blob (``blob`` is the agent's version)
    parsed: ParsedFile | None = field(default=None, repr=False)
    constants: tuple[Constant, ...] = ()  # of a prompt module (its `formats:` entry's)

    @property
    def adopted(self) -> bool:
        return self.parsed is not None

    def document(self) -> AgentDocument | AdoptedDocument:
        """The file loaded for editing this agent with the proposal operations."""
        if self.parsed is not None and self.key is not None:
            from gitimprove.instructions.formats import AdoptedDocument

            return AdoptedDocument(self.parsed, self.key, self.name)
        from gitimprove.instructions.roundtrip import AgentDocument

        return AgentDocument(self.raw.decode("utf-8"), self.path, expected_name=self.name)

    def rendered(self) -> str:
        """The prompt the agent's framework builds from it."""
        if self.parsed is None or self.key is None:
            return render(self.file)
        return self.parsed.render(self.parsed.entry(self.key))

    def entry_data(self) -> Any:
        """An adopted agent's entry as its framework reads it (None for a native file)."""
        if self.parsed is None or self.key is None:
            return None
        return self.parsed.data(self.parsed.entry(self.key))


@dataclass(frozen=True)
class AgentSummary:
    """An agent on main as `gitimprove agents` lists it (docs/json.md)."""

    name: str
    format: str
    path: str
    version: str  # the display label (``v7``)
    number: int | None
    blob: str
    sections: list[str]
    protected: list[str]
    fallback_from: str | None  # a broken tip served as an older version
    problem: str | None
    former: dict[str, str] = field(default_factory=dict)  # a section's former id -> its id

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "path": self.path,
                "version": self.version, "number": self.number, "blob": self.blob,
                "sections": self.sections, "protected": self.protected,
                "fallback_from": self.fallback_from, "problem": self.problem}


class InstructionRepo:
    """A git repository holding agent instructions.

    ``InstructionRepo(path)`` discovers the repository like git does. Everything is read from
    git objects, never from the working tree: a half-edited checkout does not leak into what
    agents load."""

    def __init__(self, path: str | os.PathLike[str] = ".", *, branch: str | None = None) -> None:
        self.git = Repository.discover(path)
        self.versions = VersionIndex(self.git, valid=self._file_parses)
        self._parse_cache = ParseCache(self.git.state_dir / "parsed-v1")
        self._branch = branch or os.environ.get("GITIMPROVE_BRANCH") or None
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, str], Instruction] = {}
        self._parsed: dict[str, tuple[AgentFile, str]] = {}
        self._policies: dict[str, Policy] = {}
        self._catalogs: dict[str, Catalog] = {}
        self._broken: dict[str, dict[str, Place]] = {}  # commit -> agents of broken adopted files
        self._adopted: dict[tuple[str, str, str, tuple[Constant, ...]], ParsedFile] = {}
        # agent -> (trial ref tip, start record or None, candidate, live arm, units' buckets)
        self._trials: dict[str, tuple[Oid, TrialStart | None, Instruction | None,
                                      Instruction | None, _Buckets]] = {}

    def __repr__(self) -> str:
        return f"InstructionRepo({str(self.git.work_tree or self.git.git_dir)!r})"

    def close(self) -> None:
        """Stop the git object reader and close any feedback store this object opened."""
        self.git.close()
        self.__dict__.pop("_feedback_default", None)
        for store in self.__dict__.pop("_feedback_stores", {}).values():
            store.close()

    def __enter__(self) -> InstructionRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- branch and policy ----------------------------------------------------------------

    @property
    def branch(self) -> str:
        """The main branch: proposals start from it and approvals merge into it."""
        if self._branch is None:
            self._branch = self._find_branch()
        return self._branch

    @property
    def main_ref(self) -> str:
        ref: str | None = self.__dict__.get("_main_ref")
        if ref is None:  # the branch is fixed once found: read on every record written
            ref = self.__dict__["_main_ref"] = f"refs/heads/{self.branch}"
        return ref

    def _find_branch(self) -> str:
        head = self.git.symbolic_ref("HEAD")
        head_tip = self.git.read_ref(head) if head else self.git.read_ref("HEAD")
        if head_tip is not None:
            try:
                wanted = self.policy_at(head_tip).main_branch
            except GitImproveError:
                wanted = None
            if wanted and self.git.read_ref(f"refs/heads/{wanted}") is not None:
                return wanted
        current = head.removeprefix("refs/heads/") if head else None
        for name in (current, "main", "master"):
            if name and self.git.read_ref(f"refs/heads/{name}") is not None:
                return name
        raise GitImproveError("the repository has no main branch yet (no commits?)",
                              hint="run `gitimprove init` to create the first commit")

    def main_tip(self) -> Oid:
        tip = self.git.read_ref(self.main_ref)
        if tip is None:
            raise GitImproveError(f"branch {self.branch!r} does not exist",
                                  hint="run `gitimprove init`, or pass --branch")
        return tip

    def policy_at(self, commit: Oid) -> Policy:
        """The policy stored at ``commit`` (defaults when the file is absent)."""
        got = self.git.read_blob(f"{commit}:{POLICY_PATH}")
        if got is None:
            return Policy()
        blob, raw = got
        policy = self._policies.get(blob)
        if policy is None:
            kept = self._parse_cache.get("policy", blob)
            policy = policy_from_values(kept) if kept is not MISSING else None
            if policy is None:
                policy = parse_policy(raw, POLICY_PATH)
                self._parse_cache.put("policy", blob, policy.model_dump())
            self._policies[blob] = policy
        return policy

    def policy(self) -> Policy:
        """The policy on the main branch: the one every proposal is judged by."""
        return self.policy_at(self.main_tip())

    # -- revisions ------------------------------------------------------------------------

    def resolve(self, rev: str | None) -> tuple[str | None, Oid]:
        """A ref name (when ``rev`` names a branch) and the commit it points at."""
        if rev is None:
            return self.main_ref, self.main_tip()
        for refname in (rev, f"refs/heads/{rev}") if rev.startswith("refs/") else (f"refs/heads/{rev}",):
            tip = self.git.read_ref(refname)
            if tip is not None:
                return refname, tip
        commit = self.git.rev_parse(rev)
        if commit is None:
            raise UnknownRevisionError(f"{rev!r} is not a branch, tag or commit in this repository",
                                       hint="see `git branch -a`, or `gitimprove history AGENT` for versions")
        return None, commit

    # -- agents ---------------------------------------------------------------------------

    def native_names(self, commit: Oid) -> list[str]:
        policy = self.policy_at(commit)
        entries = self.git.read_tree(f"{commit}:{policy.agents_dir}") or []
        return sorted(e.name[:-5] for e in entries
                      if not e.is_tree and e.name.endswith(".yaml") and not e.name.startswith("."))

    def catalog(self, rev: str | None = None, *, commit: Oid | None = None) -> Catalog:
        """The adopted files at ``rev`` (main by default): their agents, and every problem."""
        if commit is None:
            _, commit = self.resolve(rev)
        hit = self._catalogs.get(commit)
        if hit is not None:
            return hit
        policy = self.policy_at(commit)
        if not policy.formats:
            # NOTE: an adopted file's history starts before gitimprove.yaml mapped it: older
            # commits are read with main's mapping.
            main = self.git.read_ref(self.main_ref) if self._branch or self._has_main() else None
            if main is not None and main != commit:
                policy = policy.model_copy(update={"formats": self.policy_at(main).formats})
        if not policy.formats:
            cat = Catalog()
        else:
            listed = self.git.run("ls-tree", "-r", "-z", commit).split("\0")
            paths, links = [], set()
            for line in filter(None, listed):
                mode, _, path = line.partition("\t")
                paths.append(path)
                if mode.startswith(SYMLINK_MODE + " "):
                    links.add(path)

            def read(path: str, rule: FormatRule) -> ParsedFile:
                if path in links:  # its text is the path it points to, not instructions
                    raise InvalidFileError([f"{path}: a symbolic link, not a file; map the file "
                                            "it points to"])
                return self._read_adopted(commit, path, rule)

            cat = build(policy, paths, read, taken=self.native_names(commit))
        with self._lock:
            if len(self._catalogs) > 256:
                self._catalogs.clear()
            self._catalogs[commit] = cat
        return cat

    def _read_adopted(self, commit: Oid, path: str, rule: FormatRule) -> ParsedFile:
        got = self.git.read_blob(f"{commit}:{path}")
        if got is None:
            raise UnknownAgentError(f"{path} is not in {commit.short}")
        return self._parse_adopted(got[0], got[1], path, rule.format, tuple(rule.constants))

    def _parse_adopted(self, blob: Oid, raw: bytes, path: str, fmt: str,
                       constants: tuple[Constant, ...] = ()) -> ParsedFile:
        key = (blob, path, fmt, constants)
        hit = self._adopted.get(key)
        if hit is None:
            hit = parse_file(adapter_for(fmt, constants), raw, path)
            with self._lock:
                if len(self._adopted) > 4096:
                    self._adopted.clear()
                self._adopted[key] = hit
        return hit

    def agent_names(self, rev: str | None = None) -> list[str]:
        """Names of the agents at ``rev`` (main by default), sorted: the native agents, every
        agent of an adopted file that loads, and the agents an adopted file held in its last
        valid version when it no longer validates (:meth:`load` serves them that version)."""
        _, commit = self.resolve(rev)
        names = self.native_names(commit)
        cat = self.catalog(commit=commit)
        return sorted({*names, *cat.agents, *self.broken_agents(commit)})

    def broken_agents(self, commit: Oid) -> dict[str, Place]:
        """The agents of adopted files that do not validate at ``commit``, each with its place
        in the newest valid version of its file on ``commit``'s first-parent history."""
        hit = self._broken.get(commit)
        if hit is not None:
            return hit
        cat = self.catalog(commit=commit)
        found: dict[str, Place] = {}
        for path in cat.problems:
            if path not in cat.paths or any(p.path == path for p in cat.agents.values()):
                continue  # not an adopted file, or one that loads with a problem of one agent
            last = next(reversed(self.versions.history(path, commit)), None)
            if last is None or last.commit == commit:
                continue
            for name, place in self.catalog(commit=last.commit).agents.items():
                if place.path == path and name not in cat.agents:
                    found[name] = place
        with self._lock:
            if len(self._broken) > 256:
                self._broken.clear()
            self._broken[commit] = found
        return found

    def _has_main(self) -> bool:
        try:
            return bool(self.branch)
        except GitImproveError:
            return False

    def agent_at(self, agent: str, commit: Oid) -> AgentAt:
        """The agent file at a commit, parsed and validated (cached by blob)."""
        policy = self.policy_at(commit)
        if "\n" not in agent:
            cat = self.catalog(commit=commit)
            place = cat.agents.get(agent)
            if place is not None:
                return self._adopted_at(place, commit)
        path = policy.agent_path(agent)
        got = self.git.read_blob(f"{commit}:{path}") if "\n" not in agent else None
        if got is None:
            cat = self.catalog(commit=commit)
            was = self.broken_agents(commit).get(agent) if "\n" not in agent else None
            broken = [m for msgs in cat.problems.values() for m in msgs
                      if f"{agent!r}" in m or f"'{agent}'" in m or (was and was.path in m)]
            if broken:
                raise InvalidFileError(broken, hint="fix the file or the `formats:` mapping in gitimprove.yaml")
            names = self.agent_names(commit)
            hint = did_you_mean(agent, names, what="agents", none=f"no agents in {policy.agents_dir}/ yet")
            if cat.problems:
                hint += (f"; {len(cat.problems)} adopted file(s) do not load (`gitimprove agents` "
                         "says why)")
            where = "" if cat.agents else f" ({path} not found)"  # adopted files: not one path
            # main's tip by its branch's name, as `agents` lists it; any other commit by its id
            at = (f"on {self.branch}" if self.git.read_ref(self.main_ref) == commit
                  else f"at {commit.short}")
            raise UnknownAgentError(f"no agent {agent!r} {at}{where}", hint=hint)
        blob, raw = got
        return AgentAt(agent, path, blob, raw, self._parse(blob, raw, path, agent)[0], commit, file_blob=blob)

    def _adopted_at(self, place: Place, commit: Oid) -> AgentAt:
        got = self.git.read_blob(f"{commit}:{place.path}")
        assert got is not None  # the catalog was built from this commit's tree
        blob, raw = got
        parsed = self._parse_adopted(blob, raw, place.path, place.format, place.constants)
        entry = parsed.entry(place.key)
        version = _version_in(parsed, entry, blob)
        return AgentAt(place.name, place.path, version, raw, parsed.view(entry, place.name), commit,
                       format=place.format, key=place.key, file_blob=blob, parsed=parsed,
                       constants=place.constants)

    def agent_version(self, place: Place, file_blob: Oid) -> Oid | None:
        """The version of an adopted agent in one blob of its file (None: not in it)."""
        got = self.git.read_blob(file_blob)
        if got is None:
            return None
        try:
            parsed = self._parse_adopted(file_blob, got[1], place.path, place.format, place.constants)
            entry = parsed.entry(place.key)
        except GitImproveError:
            return None
        return _version_in(parsed, entry, file_blob)

    def _parse(self, blob: Oid, raw: bytes, path: str, agent: str) -> tuple[AgentFile, str]:
        hit = self._parsed.get(blob)
        if hit is None:
            kept = self._parse_cache.get("agent", blob)
            found = agent_from_values(kept, raw, path, expected_name=agent) if kept is not MISSING else None
            if found is None:
                found = parse_agent(raw, path, expected_name=agent)
                self._parse_cache.put("agent", blob, found.model_dump())
            parsed = found
            hit = (parsed, render(parsed))
            with self._lock:
                self._parsed[blob] = hit
        elif hit[0].name != agent:  # the same bytes under another file name
            parse_agent(raw, path, expected_name=agent)
        return hit

    def agent_file(self, blob: Oid, path: str, agent: str) -> AgentFile | None:
        """The native agent file stored as ``blob`` (None when there is no such blob), parsed
        and checked once per blob (:mod:`.parsecache`); raises :class:`InvalidFileError`."""
        got = self.git.read_blob(blob)
        return None if got is None else self._parse(got[0], got[1], path, agent)[0]

    def _file_parses(self, path: str, blob: Oid) -> bool:
        """Whether ``blob`` at ``path`` is a valid agent file (a broken one is not a version)."""
        if blob in self._parsed:
            return True
        got = self.git.read_blob(blob)
        if got is None:
            return False
        rule = self._adopted_rule(path)
        agent = path.rsplit("/", 1)[-1].removesuffix(".yaml")
        try:
            if rule is not None:
                self._parse_adopted(blob, got[1], path, rule.format, tuple(rule.constants))
            else:
                self._parse(blob, got[1], path, agent)
        except InvalidFileError:
            return False
        return True

    def _adopted_rule(self, path: str) -> FormatRule | None:
        """The ``formats:`` entry of main's policy for ``path`` (None: a native agent file)."""
        from gitimprove.instructions.formats.catalog import rule_for

        tip = self.git.read_ref(self.main_ref) if self._has_main() else None
        if tip is None:
            return None
        policy = self.policy_at(tip)
        if not policy.formats or policy.is_native_path(path):
            return None
        try:
            rule = rule_for(policy, path)
        except InvalidFileError:
            return None
        return rule

    def load(self, agent: str, ref: str | None = None, *, unit: str | None = None,
             strict: bool = False) -> Instruction:
        """The rendered instructions of ``agent`` at the tip of ``ref`` (main by default).

        Called on every agent run, so the warm path is one read of the ref file and a dict
        lookup; a new commit on the branch is seen by the very next call.

        While a trial of ``agent`` runs (``gitimprove trial start``), ``unit`` (the user id, or
        the run id for a trial by run) decides the arm: a stable share of units gets the
        proposal's instructions, the rest main's; ``inst.version`` is what was served and
        ``inst.trial`` says which arm. A damaged or paused trial serves main's, never fails.

        A bad commit never fails an agent run either: when the file at the tip does not
        validate, the last valid version on the branch's first-parent history is served, a
        warning is logged (logger ``gitimprove``), and the result says so (``fallback_from`` is
        the broken blob, ``problem`` why). ``strict=True`` raises :class:`InvalidFileError`."""
        inst = self._load(agent, ref, strict)
        if ref is None:
            trial_tip = self.git.read_ref(running_trial_ref(agent))
            if trial_tip is not None:
                return self._serve_trial(inst, trial_tip, unit)
        return inst

    def _load(self, agent: str, ref: str | None, strict: bool = False) -> Instruction:
        refname = self.main_ref if ref is None else (
            ref if ref.startswith("refs/") else f"refs/heads/{ref}")
        tip = self.git.read_ref(refname)
        key = (refname, agent)
        hit = self._loaded.get(key)
        if hit is not None and hit.tip == tip and not (strict and hit.fallback_from):
            return hit
        if tip is None:
            if ref is None:
                tip = self.main_tip()
            else:
                name, tip = self.resolve(ref)
                refname = name or ref
        inst = self._build(agent, tip, refname if refname.startswith("refs/") else None, strict)
        with self._lock:
            self._loaded[key] = inst
        return inst

    def running_trial(self, agent: str) -> TrialStart | None:
        """The trial of ``agent`` that :meth:`load` serves now, or None (also when it is
        damaged). Tells a caller which id to pass as ``unit``: the user's or the run's."""
        live = self._load(agent, None)
        tip = self.git.read_ref(running_trial_ref(agent))
        if tip is None:
            return None
        self._serve_trial(live, tip, None)
        hit = self._trials.get(agent)
        return hit[1] if hit is not None else None

    def _serve_trial(self, live: Instruction, trial_tip: Oid, unit: str | None) -> Instruction:
        agent = live.agent
        hit = self._trials.get(agent)
        if hit is None or hit[0] != trial_tip or (hit[3] is not None and hit[3].tip != live.tip):
            hit = self._read_trial(live, trial_tip)
            with self._lock:
                self._trials[agent] = hit
        _, start, candidate, live_arm, _ = hit
        if start is None or candidate is None or live_arm is None:
            return live
        # NOTE: what users see must be what a human approved for trial: a new commit on the
        # proposal branch, or another text on main, pauses the trial (main's text for all).
        if live.version != start.live or self.git.read_ref(start.branch) != start.proposal_commit:
            return live
        if unit is not None and hit[4][unit] < start.share:
            return candidate
        return live_arm

    def _read_trial(self, live: Instruction, trial_tip: Oid
                    ) -> tuple[Oid, TrialStart | None, Instruction | None, Instruction | None,
                               _Buckets]:
        from gitimprove.ledger.trials import TrialStart

        agent = live.agent
        try:
            start = TrialStart.of(self.git.read_commit(trial_tip))
            if start.agent != agent:
                raise ValueError(f"it names agent {start.agent!r}")
            parsed, text, file_format, version, data = self._agent_in_blob(agent, live.tip,
                                                                           start.candidate_blob)
            if version != start.candidate:
                raise ValueError(f"its candidate file holds version {version[:10]} of the agent, "
                                 f"not {start.candidate[:10]}")
        except (GitImproveError, ValueError) as exc:
            _warn("gitimprove: ignoring the trial of %s (%s is not a usable trial record: "
                        "%s); serving %s", agent, trial_tip[:10], exc, self.branch)
            return (trial_tip, None, None, None, _Buckets(""))
        candidate = Instruction(agent=agent, text=text, version=start.candidate, number=None,
                                commit=start.proposal_commit, tip=live.tip, file=parsed,
                                file_format=file_format, entry_data=data,
                                trial=TrialArm(start.trial_id, start.proposal, "candidate"))
        live_arm = replace(live, trial=TrialArm(start.trial_id, start.proposal, "live"))
        return (trial_tip, start, candidate, live_arm, _Buckets(start.trial_id))

    def _agent_in_blob(self, agent: str, at: Oid, blob: Oid
                       ) -> tuple[AgentFile, str, str, Oid, Any]:
        """``agent`` as ``blob`` (a version of the file it lives in at commit ``at``) holds it:
        its parsed file, its rendered prompt, the file's format, the agent's version (the
        blob, or for an agent that shares its file, the fingerprint of its part) and its entry
        as the framework reads it (None for a native file). A trial's candidate is read this
        way, native or adopted."""
        got = self.git.read_blob(blob)
        if got is None:
            raise ValueError(f"its candidate {blob} is missing")
        place = self.catalog(commit=at).agents.get(agent)
        if place is None:
            parsed, text = self._parse(got[0], got[1], self.policy_at(at).agent_path(agent), agent)
            return parsed, text, "native", got[0], None
        file = self._parse_adopted(got[0], got[1], place.path, place.format, place.constants)
        entry = file.entry(place.key)
        version = _version_in(file, entry, got[0])
        return (file.view(entry, place.name), file.render(entry), place.format, version,
                file.data(entry))

    def _build(self, agent: str, tip: Oid, refname: str | None, strict: bool = False) -> Instruction:
        try:
            at = self.agent_at(agent, tip)
        except InvalidFileError as exc:
            if strict:
                raise
            return self._fallback(agent, tip, refname, exc)
        if at.adopted:
            text, parsed = at.rendered(), at.file
        else:
            parsed, text = self._parse(at.blob, at.raw, at.path, agent)
        found = self.versions.version_of(at.path, tip, refname, at.blob, **self._version_key(at))
        return Instruction(agent=agent, text=text, version=at.blob,
                           number=found[0] if found else None,
                           commit=found[1] if found else None, tip=tip, file=parsed,
                           file_format=at.format, entry_data=at.entry_data())

    def _broken_file(self, agent: str, commit: Oid) -> tuple[str, Oid, Place | None] | None:
        """Path and blob of the file of ``agent`` at a commit, not parsed (it may be broken),
        with the agent's place when the file is an adopted one that does not validate there."""
        if "\n" in agent:
            return None
        place = self.broken_agents(commit).get(agent)
        if place is None and agent in self.catalog(commit=commit).agents:
            return None
        path = place.path if place is not None else self.policy_at(commit).agent_path(agent)
        got = self.git.read_blob(f"{commit}:{path}")
        return (path, got[0], place) if got is not None else None

    def _broken_key(self, place: Place | None, commit: Oid) -> dict[str, Any]:
        """:meth:`_version_key` for an agent whose file is broken at ``commit``: the versions
        are told apart as in the newest valid version of the file."""
        if place is None:
            return {}
        try:
            return self._version_key(self.valid_agent_at(place.name, commit))
        except GitImproveError:
            return {}

    def valid_agent_at(self, agent: str, commit: Oid) -> AgentAt:
        """:meth:`agent_at`, or, when the agent's file does not validate at ``commit``, the
        agent at the newest commit of its first-parent history where the file does."""
        try:
            return self.agent_at(agent, commit)
        except InvalidFileError:
            found = self._broken_file(agent, commit)
            if found is None:
                raise
            last = next(reversed(self.versions.history(found[0], commit)), None)
            if last is None or last.commit == commit:
                raise
            return self.agent_at(agent, last.commit)

    def _fallback(self, agent: str, tip: Oid, refname: str | None,
                  error: InvalidFileError) -> Instruction:
        """The newest valid version of a broken agent file (native or adopted) on ``tip``'s
        first-parent history (broken commits are not versions)."""
        found = self._broken_file(agent, tip)
        if found is None:
            raise error
        path, broken, place = found
        for version in reversed(self.versions.history(path, tip, refname,
                                                      **self._broken_key(place, tip))):
            if (version.file_blob or version.blob) == broken:
                continue
            try:
                if place is None:
                    got = self.git.read_blob(version.blob)
                    if got is None:
                        continue
                    parsed, text = self._parse(version.blob, got[1], path, agent)
                else:
                    at = self._adopted_at(place, version.commit)
                    parsed, text = at.file, at.rendered()
                    data = at.entry_data()
            except GitImproveError:
                continue
            problem = error.problems[0] if error.problems else str(error)
            _warn("%s at %s does not validate (%s); serving %s of %s (%s) instead", path,
                        tip[:10], problem, version.label, agent, version.blob[:10])
            return Instruction(agent=agent, text=text, version=version.blob, number=version.number,
                               commit=version.commit, tip=tip, file=parsed,
                               file_format=place.format if place is not None else "native",
                               fallback_from=broken, problem=problem,
                               entry_data=data if place is not None else None)
        raise error

    def _version_key(self, at: AgentAt) -> dict[str, Any]:
        """How the versions of an agent in a file holding several are told apart."""
        if at.parsed is None or at.key is None or len(at.parsed.entries) == 1:
            return {}
        place = Place(at.name, at.path, at.format, at.key, at.constants)
        return {"fingerprint": lambda blob: self.agent_version(place, blob), "tag": at.key}

    # -- history --------------------------------------------------------------------------

    def history(self, agent: str, ref: str | None = None) -> list[Version]:
        """Versions of ``agent`` along the first-parent history of ``ref``, oldest first."""
        refname, tip = self.resolve(ref)
        try:
            at = self.agent_at(agent, tip)
        except InvalidFileError:
            found = self._broken_file(agent, tip)  # history works from a broken tip
            if found is None:
                raise
            return self.versions.history(found[0], tip, refname,
                                         **self._broken_key(found[2], tip))
        return self.versions.history(at.path, tip, refname, **self._version_key(at))

    def find_version(self, agent: str, spec: str) -> tuple[Oid, Version | None]:
        """A commit holding the requested version of ``agent``: ``v3``, a commit, branch or tag."""
        if spec[:1] in "vV" and spec[1:].isdigit():
            number = int(spec[1:])
            versions = self.history(agent)
            match = next((v for v in versions if v.number == number), None)
            if match is None:
                last = max((v.number for v in versions), default=0)
                raise UnknownRevisionError(f"{agent} has no version {spec} (versions: v1..v{last})",
                                           hint=f"see `gitimprove history {agent}`")
            return match.commit, match
        _, commit = self.resolve(spec)
        try:
            blob = self.agent_at(agent, commit).blob
        except InvalidFileError:
            found = self._broken_file(agent, commit)
            if found is None:
                raise
            blob = found[1]
        match = next((v for v in reversed(self.history(agent)) if v.blob == blob), None)
        return commit, match

    def describe(self, agent: str) -> AgentSummary:
        """A summary of an agent on main, as `gitimprove agents` shows it."""
        inst = self.load(agent)
        policy = self.policy()
        place = self.catalog().agents.get(agent) or self.broken_agents(inst.tip).get(agent)
        return AgentSummary(
            name=agent, format=inst.file_format,
            path=place.path if place else policy.agent_path(agent),
            version=inst.label, number=inst.number, blob=str(inst.version),
            sections=list(inst.file.section_ids),
            protected=protected_ids(inst.file, policy.is_protected),
            fallback_from=str(inst.fallback_from) if inst.fallback_from else None,
            problem=inst.problem,
            former={old: s.id for s in inst.file.sections for old in former_ids(s)})

    # -- feedback (gitimprove.feedback, imported lazily: load() stays import-light) ----------

    def feedback_store(self, url: str | None = None) -> FeedbackStore:
        """The feedback store: ``url``, else ``$GITIMPROVE_FEEDBACK_URL``, else ``feedback.url``
        of gitimprove.yaml, else ``.gitimprove/feedback.db`` in the working tree (the git dir
        of a bare repository). Opened once and kept."""
        # NOTE: on the hot path (a record per agent run) the policy is read again only when
        # main moved or the environment changed. Main's tip is read (one stat of a ref file)
        # at most once per TIP_RECHECK seconds and after any git command this process ran:
        # what another process did within that window counts as done just after this
        # record, and an agent or version not found is looked for again (see AgentIndex).
        last: list[Any] | None = self.__dict__.get("_feedback_default")
        if url is None and last is not None and _environ_get(last[1]) == last[2]:
            now = time.monotonic()
            if now < last[4] and git_runs() == last[5]:
                return last[3]  # type: ignore[no-any-return]
            runs = git_runs()
            if self.git.read_ref(self.main_ref) == last[0]:
                last[4], last[5] = now + TIP_RECHECK, runs
                return last[3]  # type: ignore[no-any-return]
        from gitimprove.feedback.store import ENV_URL, choose_url, open_store

        cached: dict[str, FeedbackStore] = self.__dict__.setdefault("_feedback_stores", {})
        runs = git_runs()
        tip = self.git.read_ref(self.main_ref)
        try:
            configured = self.policy().feedback.url
        except InvalidFileError:
            raise  # a broken policy is fixed first; a database it did not ask for is not made
        except GitImproveError:
            configured = None  # no main branch yet: the default store
        chosen = choose_url(url, configured)
        with self._lock:
            store = cached.get(chosen)
            if store is None:
                store = cached[chosen] = open_store(chosen, self.git.work_tree or self.git.git_dir)
        if url is None:
            self.__dict__["_feedback_default"] = [tip, ENV_URL, _environ_get(ENV_URL), store,
                                                   time.monotonic() + TIP_RECHECK, runs]
        return store

    def _feedback_index(self) -> AgentIndex:
        index: AgentIndex | None = self.__dict__.get("_agent_index")
        if index is not None:  # made once; the lock only for making it
            return index
        from gitimprove.feedback.capture import AgentIndex

        with self._lock:
            index = self.__dict__.get("_agent_index")
            if index is None:
                index = self.__dict__["_agent_index"] = AgentIndex(_Catalogue(self))
        return index

    def record_feedback(self, *, agent: str, **fields: Any) -> FeedbackRecord:
        """Record feedback on one run of ``agent`` and return the stored record.

        Fields: ``run_id``, ``version`` (the blob id :meth:`load` returned; ``v3`` or a unique
        prefix also work), ``rating`` (positive/negative, up/down, thumbs_up/thumbs_down,
        +1/-1), ``reason``, ``correction``, ``signals`` (``{"regenerated": True, ...}``),
        ``user_id``, ``input``, ``output``, ``metadata``, ``created_at``, ``id``, and
        ``tool_calls`` (the run's decisions, in order: ``[{"name": "web_search", "status":
        "ok", "duration_ms": 830}]``; arguments are kept only if the policy says so). At least
        a rating, reason, correction or signal is needed. An unknown agent is refused; a version
        not in the agent's history is kept with a :class:`FeedbackWarning`."""
        record = _record_feedback or _import_record_feedback()
        store, index = self._feedback_writer()
        return record(store, index, agent=agent, fresh=False, **fields)

    def _feedback_writer(self) -> tuple[FeedbackStore, AgentIndex]:
        """The feedback store and the agent index, both as of main's tip read once (a record
        per agent run reads it once, not once for each)."""
        store = self.feedback_store()
        index = self._feedback_index()
        # the tip the store was checked at (None, as when it is unknown: read the agents again)
        index.refresh_at(self.__dict__.get("_feedback_default", (None,))[0])
        return store, index

    def record_run(self, *, agent: str, run_id: str,
                   tool_calls: Sequence[Mapping[str, Any] | ToolCall],
                   version: str | None = None,
                   created_at: datetime | str | None = None) -> FeedbackRecord:
        """Log the decisions of one run of ``agent`` (its tool calls, in order) without any
        feedback, so that tool-use rates count every run. Logging the same run again with the
        same calls adds nothing; with other calls it is refused. ``tool_calls=[]`` logs a run
        that called no tool. See docs/feedback.md."""
        from gitimprove.feedback.capture import record_run

        return record_run(self.feedback_store(), self._feedback_index(), agent=agent, run_id=run_id,
                          tool_calls=tool_calls, version=version, created_at=created_at)

    def feedback_stats(self, agent: str | None = None, *, by_version: bool = False,
                       since: datetime | None = None) -> list[StatsRow]:
        """Counts, negative rate and signal rates per agent (and per version), a row each."""
        from gitimprove.feedback.attribution import with_versions
        from gitimprove.feedback.stats import compute_stats

        records = self.feedback_store().records(agent=agent, since=since, with_io=False)
        labels: dict[tuple[str, str], str] = {}
        inferred: set[str] = set()
        if by_version:
            lines = self.timelines({r.agent for r in records})
            for name, line in lines.items():
                for v in line.history:
                    labels.setdefault((name, str(v.blob)), v.label)
            records, inferred = with_versions(records, lines)
        return compute_stats(records, by_version=by_version, labels=labels, inferred=inferred)

    def feedback_records(self, agent: str | None = None, *, since: datetime | None = None,
                         version: str | None = None, run_id: str | None = None
                         ) -> VersionedRecords:
        """Feedback as `feedback list` shows it, oldest first: each record with the version it
        counts for (the one it names, else the one live on main when it was made, marked as
        inferred); ``version`` (``v3`` or a blob id) keeps one version's."""
        from gitimprove.feedback.attribution import VersionedRecords

        versions = self._versions_named(agent, version)
        records = self.feedback_store().records(agent=agent, since=since, run_id=run_id)
        return VersionedRecords.of(records, self.timelines({r.agent for r in records})
                                   ).only(versions)

    def _versions_named(self, agent: str | None, version: str | None) -> list[str] | None:
        """The blobs ``version`` names (``v3`` or a blob id; for ``agent`` when given, which
        must exist); None: every version."""
        if agent is not None:
            index = self._feedback_index()
            index.check_agent(agent)
            if version is None:
                return None
            try:
                blob, unknown = index.resolve_version(agent, version)
            except GitImproveError as exc:  # its hint is for recording feedback, not reading it
                raise GitImproveError(exc.message, hint=f"see `gitimprove history {agent}` for "
                                      "its versions") from None
            if unknown:
                raise GitImproveError(unknown.split(";")[0],
                                      hint=f"see `gitimprove history {agent}` for its versions")
            return [blob] if blob else None
        if version is None:
            return None
        if not re.fullmatch(r"[0-9a-fA-F]{4,64}", version.strip()):
            raise GitImproveError(f"--version {version!r} is not a blob id",
                                  hint="pass a blob id, or --agent AGENT with a version like v3")
        return [version.strip().lower()]

    def timelines(self, agents: Iterable[str]) -> dict[str, Timeline]:
        """Each agent's history on main as a :class:`~gitimprove.feedback.attribution.Timeline`
        (agents no longer on main left out): which version was live when a record was made."""
        from gitimprove.feedback.attribution import Timeline

        out: dict[str, Timeline] = {}
        for name in sorted(agents):
            try:
                out[name] = Timeline(self.history(name))
            except GitImproveError:
                continue  # an agent no longer on main: its versions simply go unlabelled
        return out

    @paused()  # a record per feedback, read, versioned, analysed (see cycles.paused)
    def analyze(
        self,
        agent: str,
        *,
        since: datetime | None = None,
        version: str | None = None,
        evidence_state: Callable[[str], EvidenceState] | None = None,
        min_support: int | None = None,
        model: Literal["on", "cached", "off"] = "cached",
        notes: list[str] | None = None,
        bills: list[Bill] | None = None,
    ) -> list[Pattern]:
        """Patterns in ``agent``'s feedback, most important first (see docs/feedback.md).

        ``evidence_state(feedback_id)`` says whether an id is cited by an open proposal
        (``pending``) or an approved one (``addressed``); a pattern whose evidence is all cited
        takes that state, and ``open_ids`` lists what is not. ``model``: themes by the
        policy's model (``on``, :mod:`gitimprove.patterns.synthesis`: cached by feedback set
        and model, falling back to the offline grouping on any failure, with a note), only if
        cached already (``cached``: no request, no cost), or never (``off``); ``notes``
        receives whether the model named the themes or why it fell back, and ``bills`` what
        its requests cost (nothing when it made none)."""
        from gitimprove.patterns.analysis import analyze_records

        versions = self._versions_named(agent, version)
        index = self._feedback_index()
        from gitimprove.feedback.attribution import with_versions
        from gitimprove.patterns.grouping import CONTEXT_BUDGET, MAX_CHARS

        store = self.feedback_store()
        # NOTE: the runs' answers and questions tell what the feedback is about from what it
        # says (see grouping); read within the budget grouping reads them in, not whole
        head = min(MAX_CHARS, CONTEXT_BUDGET // max(1, 2 * store.count(agent)))
        records = store.records(agent=agent, since=since, with_io=head if head > 0 else False,
                                logs_of_rated_runs_only=True)
        records, _ = with_versions(records, self.timelines([agent]))
        if versions is not None:
            records = [r for r in records if r.version in versions]
        inst = self.load(agent)
        support = min_support if min_support is not None else self.policy().analysis.min_support
        synthesizer = None
        if model != "off":
            from gitimprove.patterns.synthesis import Synthesizer

            policy = self.policy()
            synthesizer = Synthesizer(
                model=policy.proposer.model, max_tokens_total=policy.analysis.model_max_tokens,
                max_tokens=policy.proposer.max_tokens, timeout=policy.proposer.timeout_seconds,
                deadline=policy.analysis.model_deadline_seconds,
                cache_dir=self.git.state_dir / "synthesis" / agent, cache_only=model == "cached")
        try:
            patterns = analyze_records([r for r in records if r.is_feedback],
                                       agent_file=inst.file, min_support=support,
                                       evidence_state=evidence_state,
                                       current_version=str(inst.version),
                                       version_order=index.version_order(agent),
                                       synthesizer=synthesizer, notes=notes)
        finally:  # NOTE: an analysis that fails, or is interrupted, has still paid for them
            bill = synthesizer.bill if synthesizer is not None else None
            if bills is not None and bill is not None:
                bills.append(bill)
        # What the agent did (its logged tool calls) against what users said: tool_use patterns.
        from gitimprove.instructions.agentfile import tool_guidelines, tools_section
        from gitimprove.patterns.decisions import decision_patterns
        from gitimprove.patterns.model import importance

        guidelines = tools_section(inst.file)
        patterns += decision_patterns(records, min_support=support, evidence_state=evidence_state,
                                      tools_section=guidelines.id if guidelines else None,
                                      tools=list(tool_guidelines(inst.file)))
        return sorted(patterns, key=importance)


class _Catalogue:
    """The repository as feedback sees it (:class:`gitimprove.feedback.capture.Catalogue`)."""

    def __init__(self, repo: InstructionRepo) -> None:
        self._repo = repo

    @property
    def branch(self) -> str:
        return self._repo.branch

    def tip(self) -> str | None:
        return self._repo.git.read_ref(self._repo.main_ref)

    def agent_names(self) -> list[str]:
        return self._repo.agent_names()

    def versions(self, agent: str) -> list[tuple[int, str]]:
        return [(v.number, str(v.blob)) for v in self._repo.history(agent)]

    def why_not_loading(self, agent: str) -> str | None:
        try:
            self._repo.load(agent)
        except InvalidFileError as exc:
            return "; ".join(exc.problems[:3])
        return None

    def trial_versions(self, agent: str) -> set[str]:
        from gitimprove.ledger.trials import TrialStart, TrialStop, running_ref

        git = self._repo.git
        found: set[str] = set()
        refs = [(running_ref(agent), git.read_ref(running_ref(agent))),
                *git.match_refs(f"{TrialStop.prefix()}{agent}/*")]
        for ref, tip in refs:
            if tip is None:
                continue
            try:
                commit = git.read_commit(tip)
                if ref.startswith(TrialStop.prefix()):
                    commit = git.read_commit(commit.parents[0])
                found.add(str(TrialStart.of(commit).candidate))
            except (GitImproveError, ValueError, IndexError):
                continue
        return found

    def tool_argument_chars(self) -> int | None:
        settings = self._repo.policy().feedback
        return settings.tool_argument_chars if settings.store_tool_arguments else None


# Names used only in the annotations of the feedback methods above.
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import datetime

    from gitimprove.feedback.attribution import Timeline, VersionedRecords
    from gitimprove.feedback.capture import AgentIndex
    from gitimprove.feedback.models import FeedbackRecord, ToolCall
    from gitimprove.feedback.stats import StatsRow
    from gitimprove.feedback.store import FeedbackStore
    from gitimprove.instructions.formats import AdoptedDocument, ParsedFile
    from gitimprove.instructions.formats.base import Entry
    from gitimprove.instructions.roundtrip import AgentDocument
    from gitimprove.ledger.trials import TrialStart
    from gitimprove.llm import Bill
    from gitimprove.patterns.model import EvidenceState, Pattern
