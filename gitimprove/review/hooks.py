"""Git hooks that run the validator when a human merges a proposal with plain git.

What a hook judges (the same rule everywhere, see docs/safety.md):

- An update of the main branch from ``old`` to ``new`` is looked at only when the commits it
  brings (``git log old..new``) include a **proposal commit**: one authored by a model
  (author e-mail ``…@gitimprove.invalid``, as ``propose`` writes them), or a commit that is
  not a merge and names a proposal in its message (a cherry-pick, a ``git merge --squash``),
  or a person's commit (a merge too, by what it holds beyond git's merge) that carries a
  proposal's change under another name (it holds a hunk of a model proposal commit's:
  :mod:`gitimprove.ledger.carried`; its own change is judged, where the model's changes too).
  No trailer makes a commit exempt: an approval trailer on a model-authored commit is a
  forgery (see :mod:`gitimprove.ledger`), refused as such; no name does either.
- Each proposal commit is judged like ``gitimprove approve`` would judge it: what merging the
  branch merged with it (:func:`gitimprove.ledger.merged_head`, people's commits on top
  included) into ``old`` changes, with the policy read from ``old`` (never from the proposal).
  When that fails, the update is judged as a whole (a later commit may have fixed it: what
  reaches main is what counts). When it no longer merges cleanly into ``old`` (a human
  resolved conflicts), the commit's own change against its first parent is judged instead.
- Other commits are human edits: they are not judged on their own (the humans' own call).
- When the target's policy requires an evaluation, each proposal must have a scorecard for the
  tree *being merged* (:func:`gitimprove.ledger.merged_head`: the merged branch's tip,
  reviewers' commits included), judged by the same function as ``approve`` and ``validate``
  (:func:`gitimprove.evaluation.check.evaluation_status`).

Hooks call the gitimprove that installed them (``<python> -m gitimprove hook NAME``) and fail
closed: an error in the validator refuses the update. What they judge by is read from git
alone: never from what gitimprove keeps on disk to go faster (``ledger.scan(kept=False)``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError, InvalidFileError
from gitimprove.git import ZERO_OID, Oid, Repository, diff_trees
from gitimprove.instructions.agentfile import parse_agent
from gitimprove.instructions.formats.catalog import Catalog
from gitimprove.instructions.policy import POLICY_PATH, parse_policy
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.review.checkout import pending_refusal
from gitimprove.validate import Violation

if TYPE_CHECKING:
    from gitimprove import ledger
    from gitimprove.evaluation.check import EvaluationStatus

# NOTE: the ledger, the evaluation records and the validator are imported where an update is
# judged: the hooks run on every commit and push, and most of them do not touch main.

MARKER = "# gitimprove-hook v1"
CHECKOUT_HOOKS = ("pre-merge-commit", "reference-transaction")
BARE_HOOKS = ("pre-receive",)
CHAINED_SUFFIX = ".local"


class HookRefusal(GitImproveError):
    """A hook refuses a ref update: a proposal commit fails the validator."""


@dataclass
class Finding:
    """A proposal commit that may not reach main, and why."""

    commit: Oid
    proposal: str
    violations: list[Violation] = field(default_factory=list)


@dataclass(frozen=True)
class Brought:
    """A proposal commit an update brings: its proposal id and agent (from its record), what
    is forged about the record, and the commit whose tree is being merged with it.
    ``carries``: for a person's commit that carries a proposal's change under another name
    (:mod:`gitimprove.ledger.carried`), the model's commit it was recognised by; ``since``:
    for an update whose people's commits carry one together, the old tip (``commit`` is the
    update's tip)."""

    commit: ledger.LoggedCommit
    proposal: str
    agent: str
    forged: list[str]
    merged: Oid
    carries: Oid | None = None
    since: Oid | None = None  # what a change that spans commits is judged from


# -- the check --------------------------------------------------------------------------------

def proposal_commits(git: Repository, old: Oid, heads: Sequence[Oid],
                     pushed: Sequence[Oid] = ()) -> list[Brought]:
    """Proposal commits among those ``heads`` bring on top of ``old``, oldest first.
    ``pushed``: tips of proposal branches and records arriving with the update (a server's
    push), where a model's commit a person's commit carries may be too."""
    from gitimprove import ledger
    from gitimprove.ledger.carried import carried

    found = []
    commits = ledger.read_commits(git, *heads, f"^{old}")
    # NOTE: looked for only when the update brings a person's commit (a merge too): three
    # `git log`: those commits' hunks, their files, the proposal commits changing their lines.
    carriers, spanned = carried(git, commits.values(),
                                [*map(str, heads), *map(str, pushed), f"^{old}"],
                                [(old, head) for head in heads if head in commits])
    named = {*carriers.values(), *spanned.values()}
    models = ledger.read_commits(git, "--no-walk=unsorted", *map(str, named)) if named else {}
    for head, oid in spanned.items():
        # A model's change split over people's commits, none of which holds a hunk of it
        # whole: what the update brings, as one change, is judged, for what it carries
        record, _ = ledger.proposal_of(models[oid])
        if record is not None and ledger.is_proposal_id(record.id):
            found.append(Brought(commits[head], record.id, record.agent, [], head, oid, old))
    for commit in sorted(commits.values(), key=lambda c: c.time):
        if commit.oid in carriers:
            model = models[carriers[commit.oid]]
            record, _ = ledger.proposal_of(model)
            if record is not None and ledger.is_proposal_id(record.id):
                found.append(Brought(commit, record.id, record.agent, [],
                                     ledger.merged_head(commits, heads, commit.oid), model.oid))
            continue
        if not ledger.claims_proposal(commit):
            continue
        record, problems = ledger.ProposalRecord.parse(commit.message)
        if record is None and not commit.model_authored:  # a squash quoting the proposal
            record = ledger.quoted_proposal(commit.message)
        ok = record is not None and ledger.is_proposal_id(record.id)
        forged = [p for p in problems if p != ledger.NO_RECORD] if commit.model_authored else []
        unnamed = "(model-authored commit)" if commit.model_authored else "(quoted proposal)"
        found.append(Brought(commit, record.id if ok and record else unnamed,
                             record.agent if ok and record else "", forged,
                             ledger.merged_head(commits, heads, commit.oid)))
    return found


def evaluation_gate(repo: InstructionRepo, old: Oid, brought: Brought,
                    records: Mapping[str, Oid] | None = None) -> EvaluationStatus:
    """The evaluation gate for one proposal an update brings: the same rule as ``approve``
    (the tree being merged, the agent's instructions on the target); ``records``: evaluation
    refs pushed in the same push, by name, read instead of the repository's own."""
    from gitimprove.evaluation.check import evaluation_status
    from gitimprove.evaluation.record import record_ref

    pushed = (records or {}).get(record_ref(brought.agent, brought.proposal))
    return evaluation_status(repo, old, brought.merged, proposal=brought.proposal,
                             agent=brought.agent, override=pushed)


def check_update(repo: InstructionRepo, old: Oid, heads: Sequence[Oid], *,
                 records: Mapping[str, Oid] | None = None,
                 known: list[Brought] | None = None,
                 pushed: Sequence[Oid] = ()) -> list[Finding]:
    """Proposal commits that ``heads`` bring into main at ``old`` and that fail the validator
    (or the evaluation gate of ``old``'s policy; ``records`` are evaluation refs pushed in the
    same push, by name, read instead of the repository's own; ``known``: the proposal commits
    they bring, where the caller has read them already; ``pushed``: see
    :func:`proposal_commits`)."""
    from gitimprove.review.actions import validate_merge, validate_trees

    git = repo.git
    findings: list[Finding] = []
    gated: set[str] = set()
    whole: dict[Oid, list[Violation]] = {}
    for brought in (proposal_commits(git, old, heads, pushed) if known is None else known):
        commit, pid = brought.commit, brought.proposal
        if brought.forged:
            findings.append(Finding(commit.oid, pid, [
                Violation("forged-record", f"forged record on a model-authored commit: {p}")
                for p in brought.forged]))
            continue
        # Judged as `approve` judges it: the branch being merged with it (people's commits on
        # top included, whoever they claim to be), merged into the target. A person's commit
        # carrying a proposal's change: what that commit itself changes.
        own = brought.carries is not None
        violations = [] if own else validate_merge(repo, old, brought.merged)[1]
        if any(v.code == "conflict" for v in violations):
            own = True  # a human resolved conflicts
            violations = []
        if own:
            # Judge the commit's own change, by the target's policy.
            base = brought.since or (commit.parents[0] if commit.parents else git.write_tree([]))
            violations = validate_trees(repo, base, git.tree_of(commit.oid), repo.policy_at(old))
            if brought.carries is not None and violations:
                violations = _the_model_s(repo, old, brought.carries, violations)
        if violations and not own:
            # Judged as a whole: what the update leaves on main, by the target's policy.
            for head in heads:
                if head not in whole:
                    whole[head] = validate_merge(repo, old, head)[1]
            if any(not whole[h] and _contains(git, h, commit.oid) for h in heads):
                violations = []
        if pid not in gated and brought.carries is None and (brought.agent or commit.model_authored):
            # NOTE: a person's commit that names a proposal without its record (no agent) has
            # no evaluation to look for; the validator above still judged it. One that carries
            # a proposal's change under another name is no approval (the ledger records it as
            # the person's edit): the gate on approvals is not its, the validator's rules are
            # (a person who writes a proposal's fix by hand needs no scorecard of it, rejected
            # or open).
            gated.add(pid)
            violations = violations + evaluation_gate(repo, old, brought, records).refused
        if violations:
            findings.append(Finding(commit.oid, _label(brought), violations))
    return findings


def _the_model_s(repo: InstructionRepo, old: Oid, model: Oid,
                 violations: list[Violation]) -> list[Violation]:
    """Of the violations of a person's commit that carries ``model``'s change, those in a file
    and section the model's commit changes too (each section it changes is found by judging
    its own change with every section protected): what it carries of the model's, judged where
    it lands (a section protected since the model wrote its change included). The rest is the
    person's own edit in the same commit (a file outside the agents, a policy change, a
    protected section the model left alone), which is theirs to make, as in any commit of
    theirs; a person who writes the model's fix by hand is not refused for what else they do."""
    from gitimprove.review.actions import validate_trees

    git = repo.git
    parents = git.read_commit(model).parents
    base = parents[0] if parents else git.write_tree([])
    every = repo.policy_at(old)
    every = every.model_copy(update={"protected_sections": [*every.protected_sections, "*"]})
    touched = {(v.path, v.section) for v in validate_trees(repo, base, git.tree_of(model), every)}
    return [v for v in violations if (v.path, v.section) in touched]


def _label(brought: Brought) -> str:
    """How a refusal names the proposal a commit brings."""
    from gitimprove import ledger

    if brought.carries is None:
        return brought.proposal
    return (f"{brought.proposal}, its change under the name "
            f"{ledger.one_line(brought.commit.author_identity, 120)} (the model's commit is "
            f"{brought.carries.short})")


def check_head(repo: InstructionRepo, base: Oid, head: Oid
               ) -> tuple[list[Violation], EvaluationStatus | None]:
    """The CI check (`validate`): what merging ``head`` into ``base`` would change, and the
    evaluation of the proposal ``head`` brings, if it brings one, with the policy's gate
    (the same rule as ``approve`` and the hooks; no model is ever called)."""
    from gitimprove.review.actions import validate_merge

    _, violations = validate_merge(repo, base, head)
    brought = proposal_commits(repo.git, base, [head])
    # A forged record fails the check as it fails every hook and `approve`.
    violations += [Violation("forged-record", f"forged record on model-authored commit "
                                              f"{b.commit.oid.short}: {p}")
                   for b in brought for p in b.forged]
    for one in brought:
        if one.forged or not one.agent or one.carries is not None:
            continue
        status = evaluation_gate(repo, base, one)
        return violations + status.refused, status
    return violations, None


def check_as_hooks(repo: InstructionRepo, base: Oid, head: Oid
                   ) -> tuple[list[Violation], EvaluationStatus | None]:
    """What the hooks would refuse of merging ``head`` into ``base`` (`validate
    --proposals-only`, a check for every pull request): the proposal commits it brings under
    any branch name (a model's, or a person's commit carrying one's change) judged as
    `approve` judges them, with the evaluation gate, and the agent files it changes left
    invalid, whoever wrote them. A person's own edit passes, as it does through the hooks.
    With them, the evaluation of the proposal it brings, as :func:`check_head` gives it."""
    from dataclasses import replace

    brought = proposal_commits(repo.git, base, [head])
    out = [replace(v, message=f"proposal {f.proposal} (commit {f.commit.short}): {v.message}")
           for f in check_update(repo, base, [head], known=brought) for v in f.violations]
    fork = repo.git.run_bytes("merge-base", base, head, check=False).strip().decode() or str(base)
    out += [Violation("invalid-file", problem) for problem in broken_files(repo, Oid(fork), head)]
    return out, next((evaluation_gate(repo, base, one) for one in brought
                      if not one.forged and one.agent and one.carries is None), None)


ALLOW_BROKEN_ENV = "GITIMPROVE_ALLOW_BROKEN"


def broken_files(repo: InstructionRepo, old: Oid, new: Oid) -> list[str]:
    """Problems of the agent files (and policy) that the update from ``old`` to ``new`` changes
    and leaves invalid: whoever wrote them, main must keep loading."""
    git = repo.git
    try:
        agents_dir = repo.policy_at(old).agents_dir
    except InvalidFileError:
        agents_dir = "agents"
    problems: list[str] = []
    try:  # adopted files (crewAI, Markdown, ...): the catalog of the new tree says which fail
        adopted = repo.catalog(commit=new)
    except InvalidFileError:
        adopted = Catalog()  # the policy does not parse: reported below
    for path, _, blob in diff_trees(git, old, new):
        if blob is None:
            continue
        if path in adopted.paths:
            problems += adopted.problems.get(path, [])[:3]
            continue
        folder, _, name = path.rpartition("/")
        try:
            if path == POLICY_PATH:
                raw = git.read_blob(blob)
                parse_policy(raw[1] if raw else b"", path)
            elif folder == agents_dir and name.endswith(".yaml") and not name.startswith("."):
                raw = git.read_blob(blob)
                parse_agent(raw[1] if raw else b"", path, expected_name=name[:-5])
        except InvalidFileError as exc:
            problems += exc.problems[:3]
    return problems


def broken_refusal(problems: list[str], branch: str) -> HookRefusal:
    lines = [f"gitimprove: refusing this update of {branch}: it leaves a file that does not "
             "validate, and every agent run would have to work around it:"]
    lines += [f"  - {p}" for p in problems]
    return HookRefusal("\n".join(lines), hint=(
        f"{branch} was not changed; fix the file and commit again. In an emergency, "
        f"{ALLOW_BROKEN_ENV}=1 in the environment of the git command lets it through "
        "(`gitimprove docs safety`); agents then keep loading the last valid version"))


def _contains(git: Repository, head: Oid, commit: Oid) -> bool:
    """Whether ``commit`` is reachable from ``head``."""
    return git.run_bytes("rev-list", "-n1", commit, f"^{head}").strip() == b""


def refusal(findings: list[Finding], branch: str, how: str,
            restore: list[str] | None = None) -> HookRefusal:
    lines = [f"gitimprove: refusing {how} into {branch}: it brings proposal changes the "
             "validator forbids (policy read from the current tip of the branch):"]
    for f in findings:
        lines.append(f"  proposal {f.proposal} (commit {f.commit.short}):")
        lines += [f"    - {v}" for v in f.violations]
    if restore:
        # NOTE: git checks the new tree out before it moves the branch, so a refused
        # fast-forward (or pull) leaves the refused files staged in the checkout.
        lines.append(f"  {branch} did not move, but git may have updated your checkout already; "
                     "put the files back with:")
        lines.append("    git restore --source=HEAD --staged --worktree -- " + " ".join(restore))
    return HookRefusal("\n".join(lines),
                       hint=f"{branch} was not changed; reject the proposal (`gitimprove reject ID "
                            "--reason ...`), or make the edit yourself as a human commit")


# -- the hooks, as called by git --------------------------------------------------------------

def _is_oid(text: str) -> bool:
    try:
        Oid(text)
    except ValueError:
        return False
    return True


def _main_updates(repo: InstructionRepo, lines: Iterable[str]) -> list[tuple[Oid, Oid]]:
    """(old, new) for every update of the main branch in ref-update lines ``old new ref``."""
    main = repo.main_ref
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3 or parts[2] != main:
            continue
        old, new = Oid(parts[0]), Oid(parts[1])
        if new == ZERO_OID:  # deletion: nothing arrives
            continue
        if old == ZERO_OID:
            # NOTE: git passes zeros when the updater gave no expected old value
            # (`git update-ref main X`); in the "prepared" state the ref still holds it.
            current = repo.git.read_ref(main)
            if current is None:  # the branch is being created: nothing to judge against
                continue
            old = current
        if old != new:
            updates.append((old, new))
    return updates


def _deletes_main(repo: InstructionRepo, lines: Iterable[str], *, forced_only: bool) -> bool:
    """Whether ref-update lines delete the main branch while it exists. ``forced_only``: only
    a deletion that names no expected old value counts (``git branch -D``, ``-M``,
    ``update-ref -d``); ``git pack-refs`` (every ``git gc``) deletes the loose copy of a ref
    it has just packed, naming its value, and must go on working."""
    return any(len(parts) == 3 and parts[2] == repo.main_ref and parts[1] == ZERO_OID
               and (parts[0] == ZERO_OID or not forced_only)
               for parts in (line.split() for line in lines)) \
        and repo.git.read_ref(repo.main_ref) is not None


def deletion_refusal(branch: str, where: str) -> HookRefusal:
    # NOTE: `git branch -M improve/x main` deletes main in a transaction the hook sees, then
    # renames the proposal branch into place without one: main would come back unjudged.
    return HookRefusal(
        f"gitimprove: refusing to delete {branch} (or to rename a branch over it): it would "
        "come back without the guard judging what it brings",
        hint=f"{branch} was not changed; move it with `git merge` or `git reset` (judged), or, to "
             f"rename the main branch, {where}")


def run_reference_transaction(repo: InstructionRepo, state: str, lines: Iterable[str]) -> None:
    """``reference-transaction`` hook: judge updates of main in the "prepared" state; refuse
    deleting main."""
    if state != "prepared" or os.environ.get("GITIMPROVE_VALIDATED") == "1":
        return
    lines = list(lines)
    if _deletes_main(repo, lines, forced_only=True):
        raise deletion_refusal(repo.branch, "run `gitimprove hooks uninstall` first and "
                               "`gitimprove hooks install` after (`gitimprove docs safety`)")
    updates = _main_updates(repo, lines)
    if updates:
        # NOTE: also stops `git commit --no-verify` on a checkout a killed approve left behind.
        behind = pending_refusal(repo.git, repo.main_ref)
        if behind is not None:
            raise behind
    squashed = _squash_in_progress(repo) if updates else None
    for old, new in updates:
        brought = proposal_commits(repo.git, old, [new])
        findings = check_update(repo, old, [new], known=brought)
        if squashed is not None and not findings and _brings_squashed(repo, old, new, squashed[0]):
            findings = _check_squash(repo, old, new, *squashed)
        broken = [] if os.environ.get(ALLOW_BROKEN_ENV) == "1" else broken_files(repo, old, new)
        if findings or broken:
            paths = None
            if not repo.git.is_bare and repo.git.symbolic_ref("HEAD") == repo.main_ref:
                paths = sorted(p for p, _, _ in diff_trees(repo.git, old, new))
            if not findings:
                raise broken_refusal(broken, repo.branch)
            raise refusal(findings, repo.branch, "this update", paths)
        _note_unapproved(repo, new, brought)


def _note_unapproved(repo: InstructionRepo, new: Oid, brought: list[Brought]) -> None:
    """Say so when an update that passed lands a proposal without a merge (a fast-forward, a
    cherry-pick, a reset): allowed, but no approval is recorded, and the reviewer ran no
    ``approve``. Only where a person is watching (a checkout, not a server's push)."""
    landed = sorted({b.proposal for b in brought if b.commit.model_authored and b.agent})
    if not landed or repo.git.is_bare or len(repo.git.read_commit(new).parents) > 1:
        return
    print(f"gitimprove: {repo.branch} now holds proposal {', '.join(landed)} without an "
          "approval (no merge commit); the audit shows it as landed, not approved. "
          "Next time: `gitimprove approve ID`, or `git merge --no-ff`.", file=sys.stderr)


def _squash_in_progress(repo: InstructionRepo) -> tuple[str, Path] | None:
    """The proposal that a ``git merge --squash`` (``SQUASH_MSG``) or a ``git cherry-pick -n``
    (``MERGE_MSG``) in this checkout brought, and the file naming it, or None. Git removes both
    files only after the commit lands, so they are there while the hook judges it (and after
    a squash abandoned with ``git restore``, until the next commit: see
    :func:`_brings_squashed`)."""
    from gitimprove import ledger

    git = repo.git
    if git.is_bare or git.symbolic_ref("HEAD") != repo.main_ref:
        return None
    for name in ("SQUASH_MSG", "MERGE_MSG"):
        path = Path(git.run("rev-parse", "--git-path", name, cwd_worktree=True).strip())
        path = path if path.is_absolute() else (git.work_tree or git.git_dir) / path
        try:
            named = ledger.names_proposal(path.read_text(errors="replace"))
        except OSError:
            continue
        if named is not None:
            return named, path
    return None


def _brings_squashed(repo: InstructionRepo, old: Oid, new: Oid, proposal: str) -> bool:
    """Whether the update ``old..new`` can bring the squashed ``proposal``: it changes a file
    the proposal (its model commit, or its branch with reviewers' commits) changes. A commit
    that touches none of them cannot carry any of its change: git's message file is left
    over from a squash given up. A proposal that is not found here counts as brought."""
    info = _proposal_named(repo, proposal)
    if info is None or not info.commit.parents:
        return True
    base = info.commit.parents[0]
    theirs = {p for tip in {info.commit.oid, info.tip or info.commit.oid}
              for p, _, _ in diff_trees(repo.git, base, tip)}
    return any(p in theirs for p, _, _ in diff_trees(repo.git, old, new))


def _proposal_named(repo: InstructionRepo, proposal: str) -> ledger.Proposal | None:
    """Proposal ``proposal`` as the ledger reads it from git alone: from its branch when one
    branch is named for it and holds it open (one ``log``), else from a scan of everything."""
    from gitimprove import ledger
    from gitimprove.review.actions import open_by_branch

    info = open_by_branch(repo, proposal) if ledger.is_proposal_id(proposal) else None
    return info or ledger.scan(repo.git, repo.main_ref, kept=False).proposal(proposal)


def _check_squash(repo: InstructionRepo, old: Oid, new: Oid, proposal: str,
                  named_in: Path) -> list[Finding]:
    """A commit made from ``git merge --squash improve/...`` (or ``git cherry-pick -n``) is that
    proposal, whatever message the person wrote: the update is judged as a whole, as
    ``approve`` would judge it."""
    from gitimprove.review.actions import validate_merge

    _, violations = validate_merge(repo, old, new)
    label = (f"{proposal}, brought by a squash or cherry-pick -n (named in git's {named_in.name}; "
             f"if you gave that up, remove {named_in})")
    return [Finding(new, label, violations)] if violations else []


def run_pre_merge_commit(repo: InstructionRepo) -> None:
    """``pre-merge-commit`` hook: judge a non-fast-forward ``git merge`` into main."""
    git = repo.git
    if git.symbolic_ref("HEAD") != repo.main_ref:
        return
    head = git.read_ref(repo.main_ref)
    # NOTE: for a merge that commits straight away git writes no MERGE_HEAD before this hook;
    # it names the merged heads in GITHEAD_<oid> variables instead.
    merge_heads = [k[len("GITHEAD_"):] for k in os.environ if k.startswith("GITHEAD_")]
    with contextlib.suppress(FileNotFoundError):
        merge_heads += (git.git_dir / "MERGE_HEAD").read_text().split()
    heads = sorted({Oid(h) for h in merge_heads if _is_oid(h)})
    if head is None or not heads:
        return
    findings = check_update(repo, head, heads)
    if findings:
        raise refusal(findings, repo.branch, "this merge")


DUPLICATE = "cites feedback that proposal"  # how a client tells this refusal from others


def duplicate_proposals(repo: InstructionRepo, lines: Iterable[str]) -> list[str]:
    """A line for each new proposal branch in a push that cites feedback a live (open or
    approved) proposal here already cites: two clones proposed for the same feedback before
    either had fetched the other's. The same proposal pushed again is not a duplicate."""
    from gitimprove import ledger

    created = [(parts[2], Oid(parts[1])) for parts in (line.split() for line in lines)
               if len(parts) == 3 and parts[2].startswith(ledger.BRANCH_PREFIX)
               and parts[0] == ZERO_OID and _is_oid(parts[1]) and parts[1] != ZERO_OID]
    pushed = [(ref, p) for ref, tip in created
              if (p := ledger.proposal_at(repo.git, repo.main_ref, ref, tip)) is not None]
    feedback = {fid for _, p in pushed for fid in p.record.evidence}
    if not feedback:
        return []
    # NOTE: from git alone (a kept summary is not evidence), and only as far as the proposals
    # naming that feedback (or the pushed ids) need: what it says of them, the whole scan says.
    # Feedback no commit here names (one `git log --grep`) reads nothing more.
    book = ledger.scan_naming(repo.git, repo.main_ref,
                              feedback | {p.record.id for _, p in pushed})
    return clashes(book, pushed)


def clashes(book: ledger.Ledger, pushed: Sequence[tuple[str, ledger.Proposal]]) -> list[str]:
    """:func:`duplicate_proposals`' lines, from a ledger that knows every proposal citing
    the pushed proposals' feedback (or sharing their ids)."""
    from gitimprove import ledger

    cited: dict[str, str] = {}  # feedback id -> the live proposal citing it
    live = book.of_state(ledger.ProposalState.OPEN, ledger.ProposalState.APPROVED,
                         ledger.ProposalState.LANDED)
    for s in sorted(live, key=lambda s: s.id):
        for fid in s.evidence:
            cited.setdefault(fid, s.id)
    # NOTE: the same proposal is the same agent's: another agent's proposal may have its id
    # (AGENT/ID names each), and is no reason to skip the check
    known = {(s.agent, s.id) for s in book.summaries()}
    out = []
    for ref, p in pushed:
        if (p.record.agent, p.record.id) in known:
            continue
        clash = [fid for fid in p.record.evidence if fid in cited]
        if clash:
            first = cited[clash[0]]
            more = f" and {len(clash) - 1} more" if len(clash) > 1 else ""
            out.append(f"proposal {p.record.id} ({ref.removeprefix('refs/heads/')}) "
                       f"{DUPLICATE} {first} already cites here ({clash[0]}{more})")
    return out


def trial_problems(repo: InstructionRepo, lines: Iterable[str]) -> list[str]:
    """What is wrong with each trial start record a push brings: every clone that fetches it
    serves its candidate to a share of users, so the candidate must pass the validator against
    the live version it names (a trial is served only while main holds that version), by the
    policy of main here."""
    from gitimprove.ledger.trials import TrialStart
    from gitimprove.validate import check_change

    out = []
    for parts in (line.split() for line in lines):
        if len(parts) != 3 or not parts[2].startswith(TrialStart.prefix()) \
                or not _is_oid(parts[1]) or parts[1] == ZERO_OID:
            continue
        ref, tip = parts[2], Oid(parts[1])
        try:
            start = TrialStart.of(repo.git.read_commit(tip))
            main = repo.git.read_ref(repo.main_ref)
            if main is None:
                raise ValueError(f"there is no {repo.branch} to judge it against")
            policy = repo.policy_at(main)
            path = repo.agent_at(start.agent, main).path  # its own file, native or adopted
            live = repo.git.read_blob(start.live_blob)
            candidate = repo.git.read_blob(start.candidate_blob)
            if live is None or candidate is None:
                raise ValueError("its live or candidate version is missing")
            violations = check_change({path: live[1]}, {path: candidate[1]}, policy)
        except (ValueError, GitImproveError) as exc:
            out.append(f"{ref} is not a trial record gitimprove can judge ({exc})")
            continue
        out += [f"{ref}: the candidate it serves fails the validator: {v}" for v in violations[:3]]
    return out


def run_pre_receive(repo: InstructionRepo, lines: Iterable[str]) -> None:
    """``pre-receive`` hook on a bare remote: refuse a push that brings a forbidden proposal.

    ``GITIMPROVE_VALIDATED`` is ignored here: a pusher's environment is not evidence. An
    evaluation record pushed together with main counts (its ref has not moved yet)."""
    from gitimprove import ledger
    from gitimprove.evaluation.record import EVALUATIONS_PREFIX

    lines = list(lines)
    if _deletes_main(repo, lines, forced_only=False):
        raise deletion_refusal(repo.branch, "do it on the server, with its hook removed")
    duplicates = duplicate_proposals(repo, lines)
    if duplicates:
        raise HookRefusal("; ".join(duplicates),
                          hint="another clone proposed for this feedback first: run `gitimprove "
                               "fetch` to see its proposal, and remove this branch")
    records = {parts[2]: Oid(parts[1]) for parts in (line.split() for line in lines)
               if len(parts) == 3 and parts[2].startswith(EVALUATIONS_PREFIX)
               and _is_oid(parts[1]) and parts[1] != ZERO_OID}
    trials = trial_problems(repo, lines)
    if trials:
        raise HookRefusal("gitimprove: refusing this push: " + "; ".join(trials),
                          hint="start a trial with `gitimprove trial start`, which validates the "
                               "proposal first, then `gitimprove push --all`")
    pushed = [Oid(parts[1]) for parts in (line.split() for line in lines)
              if len(parts) == 3 and parts[2].startswith((ledger.BRANCH_PREFIX,
                                                          ledger.REJECTED_PREFIX))
              and _is_oid(parts[1]) and parts[1] != ZERO_OID]
    for old, new in _main_updates(repo, lines):
        findings = check_update(repo, old, [new], records=records, pushed=pushed)
        if findings:
            raise refusal(findings, repo.branch, "this push")
        broken = [] if os.environ.get(ALLOW_BROKEN_ENV) == "1" else broken_files(repo, old, new)
        if broken:
            raise broken_refusal(broken, repo.branch)


# -- installing ------------------------------------------------------------------------------

def hooks_dir(git: Repository) -> Path:
    """Where git looks for hooks (honours ``core.hooksPath``)."""
    cwd = git.work_tree or git.git_dir
    out = git.run("rev-parse", "--git-path", "hooks", cwd_worktree=git.work_tree is not None).strip()
    path = Path(out)
    return path if path.is_absolute() else (cwd / path).resolve()


def hook_script(name: str, python: str, main_branch: str) -> str:
    """The shell script git runs; it forwards to ``python -m gitimprove hook NAME``."""
    reads_stdin = name in ("reference-transaction", "pre-receive")
    lines = [
        "#!/bin/sh",
        MARKER,
        f"# Installed by `gitimprove hooks install`: runs the gitimprove validator ({name}).",
        "# What it covers and what it does not: `gitimprove docs safety`. Delete this file to disable it;",
        f"# a hook that was here before is kept as {name}{CHAINED_SUFFIX} and runs first.",
        f'chained="$0{CHAINED_SUFFIX}"',
    ]
    if reads_stdin:
        lines += [
            'input=$(cat)',
            'if [ -x "$chained" ]; then',
            '    if [ -n "$input" ]; then printf \'%s\\n\' "$input"; fi | "$chained" "$@" || exit $?',
            'fi',
        ]
    else:
        lines += ['if [ -x "$chained" ]; then "$chained" "$@" || exit $?; fi']
    if name == "reference-transaction":
        # NOTE: this hook runs on every ref update; only start Python for the main branch.
        lines += [
            '[ "$1" = prepared ] || exit 0',
            '[ "${GITIMPROVE_VALIDATED:-}" = 1 ] && exit 0',
            # The name is quoted as a literal: a branch name may hold `$`, quotes or backticks.
            f'case "$input" in *" refs/heads/"{shlex.quote(main_branch)}*) ;; *) exit 0 ;; esac',
        ]
    # -P: never import from the current folder (a bare repository's own files).
    # --branch: the main branch as known at install time; never read from the tree being judged
    # (a proposal branch checked out with a broken or lying gitimprove.yaml must not decide it).
    command = f'"{python}" -P -m gitimprove --repo . --branch {shlex.quote(main_branch)} hook {name} "$@"'
    if reads_stdin:
        lines.append(f'printf \'%s\\n\' "$input" | exec {command}')
    else:
        lines.append(f"exec {command}")
    return "\n".join(lines) + "\n"


@dataclass
class Installed:
    path: Path
    chained: Path | None = None
    replaced: bool = False


def install(repo: InstructionRepo, *, bare: bool | None = None, force: bool = False,
            chain: bool = False, python: str | None = None) -> list[Installed]:
    """Write the hooks. Refuses to overwrite a hook that is not ours unless ``force`` (replace
    it) or ``chain`` (keep it as ``NAME.local``, run before ours)."""
    import sys

    if force and chain:
        raise GitImproveError("--force and --chain contradict each other",
                              hint="--chain keeps existing hooks, --force replaces them: pick one")
    git = repo.git
    bare = git.is_bare if bare is None else bare
    names = BARE_HOOKS if bare else CHECKOUT_HOOKS
    directory = hooks_dir(git)
    python = python or sys.executable
    branch = repo.branch
    if directory.exists() and not directory.is_dir():
        raise GitImproveError(f"the hooks folder {directory} is a file",
                              hint="fix core.hooksPath (git config core.hooksPath) or remove the file")
    foreign = []
    for name in names:
        path = directory / name
        if path.is_dir():
            raise GitImproveError(f"{path} is a folder, not a hook", hint="move it away, then try again")
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            foreign.append(path)
    if foreign and not (force or chain):
        raise GitImproveError(
            "hooks already exist and are not gitimprove's: " + ", ".join(map(str, foreign)),
            hint="pass --chain to keep them (they run first, as NAME.local), or --force to "
                 "replace them")
    directory.mkdir(parents=True, exist_ok=True)
    done = []
    for name in names:
        path = directory / name
        result = Installed(path)
        if path in foreign:
            if chain:
                target = path.with_name(name + CHAINED_SUFFIX)
                if target.exists():
                    raise GitImproveError(f"{target} exists already; cannot chain {path}",
                                          hint="merge the two by hand, or pass --force")
                os.replace(path, target)
                result.chained = target
            else:
                result.replaced = True
        tmp = path.with_name(f".{name}.gitimprove-tmp")
        tmp.write_text(hook_script(name, python, branch))
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.replace(tmp, path)
        done.append(result)
    return done


def uninstall(repo: InstructionRepo) -> list[Path]:
    """Remove our hooks, putting back a chained hook where there was one."""
    directory = hooks_dir(repo.git)
    removed = []
    for name in (*CHECKOUT_HOOKS, *BARE_HOOKS):
        path = directory / name
        if path.exists() and MARKER in path.read_text(errors="replace"):
            path.unlink()
            removed.append(path)
            chained = path.with_name(name + CHAINED_SUFFIX)
            if chained.exists():
                os.replace(chained, path)
    return removed
