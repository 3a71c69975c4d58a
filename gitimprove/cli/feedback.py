"""Commands for feedback: ``feedback record|import|list|stats`` and ``analyze``.

JSON shapes are documented in docs/feedback.md."""

from __future__ import annotations

import json
import os
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from gitimprove.cli.context import (
    Context,
    cost_told,
    echo,
    emit_json,
    json_option,
    parse_since,
    pass_ctx,
)
from gitimprove.cli.output import for_people, paint, width
from gitimprove.text import percent, shorten

if TYPE_CHECKING:
    from gitimprove.feedback.errors import LineProblem
    from gitimprove.feedback.models import ToolCall
    from gitimprove.instructions.repo import InstructionRepo
    from gitimprove.llm import Bill
    from gitimprove.patterns.model import Pattern


MAX_WARNINGS = 5


def _warn_grouped(problems: list[LineProblem]) -> None:
    """The import's warnings on standard error, one line per distinct warning with the lines
    it came from (a large export of runs without a version says the same thing on every
    line), the first few of them; ``--json`` has every one."""
    from gitimprove.feedback.errors import said_once

    said = said_once(problems)
    for line in said[:MAX_WARNINGS]:
        echo(f"warning: {line}", err=True)
    if len(said) > MAX_WARNINGS:
        shown = set(list(dict.fromkeys(p.message for p in problems))[:MAX_WARNINGS])
        rest = sum(1 for p in problems if p.message not in shown)
        echo(f"warning: and {rest} more; all of them: `feedback import --dry-run --json`",
             err=True)


def _warn(messages: list[warnings.WarningMessage]) -> None:
    for w in messages:
        echo(f"warning: {w.message}", err=True)


PRODUCT_LINES = 10  # product groups analyze shows one by one; --json has them all
MIXED_SHARE = 0.2  # of a product group's items about other topics than its own: shown (3 or more)
PATTERN_LINES = 25  # patterns about the answers analyze shows unless --all; --json has them all
_STATE_ORDER = {"open": 0, "pending": 1, "addressed": 2}


@click.group("feedback")
def feedback_group() -> None:
    """Record, import, list and summarise feedback on agent runs."""


@feedback_group.command("record")
@click.option("--agent", help="The agent the run belongs to (in a repository of one agent, that "
                               "agent).")
@click.option("--run-id", help="The run this feedback is about.")
@click.option("--version", "version", metavar="V",
              help="Instruction version of the run: the blob id load() returned, or v3.")
@click.option("--rating", help="positive/negative (also up/down, thumbs_up/thumbs_down, +1/-1).")
@click.option("--reason", help="Why, in the user's words.")
@click.option("--correction", help="What the agent should have done.")
@click.option("--signal", "signals", multiple=True, metavar="NAME=VALUE",
              help="An implicit signal, e.g. regenerated=true, task_completed=false (repeatable).")
@click.option("--user-id", help="Who gave the feedback.")
@click.option("--input", "input_text", help="The run's input.")
@click.option("--output", "output_text", help="The run's output.")
@click.option("--metadata", metavar="JSON", help="A JSON object of extra data.")
@click.option("--id", "feedback_id", help="The record's id (default: a new one).")
@click.option("--created-at", metavar="WHEN",
              help="When the feedback was given: 2026-09-15T10:00:00Z, 2026-09-15, or 2h / 1d "
                   "ago (default: now).")
@click.option("--tool-call", "tool_calls", multiple=True, metavar="NAME[:STATUS[:MS]]",
              help="A tool call of the run, in order, e.g. web_search:ok:830 (repeatable).")
@json_option
@pass_ctx
@for_people
def record_cmd(ctx: Context, agent: str | None, run_id: str | None, version: str | None,
               rating: str | None, reason: str | None, correction: str | None,
               signals: tuple[str, ...], user_id: str | None, input_text: str | None,
               output_text: str | None, metadata: str | None, feedback_id: str | None,
               created_at: str | None, tool_calls: tuple[str, ...], as_json: bool) -> None:
    """Record one piece of feedback on an agent run (and, with --tool-call, what it did)."""
    from gitimprove.feedback.errors import InvalidFeedbackError
    from gitimprove.feedback.importer import parse_signal_value, parse_tool_calls

    calls: list[dict[str, Any]] = []
    for text in tool_calls:
        try:
            calls += parse_tool_calls(text)
        except ValueError as exc:
            raise InvalidFeedbackError(f"--tool-call: {exc}",
                                       hint="e.g. --tool-call web_search:ok:830") from None

    parsed: dict[str, bool | int | float] = {}
    for pair in signals:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidFeedbackError(f"--signal {pair!r} is not NAME=VALUE",
                                       hint="e.g. --signal regenerated=true")
        try:
            parsed[name.strip()] = parse_signal_value(value)
        except ValueError as exc:
            raise InvalidFeedbackError(f"--signal {name.strip()}: {exc}") from None
    meta: Any = None
    if metadata is not None:
        try:
            meta = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise InvalidFeedbackError(f"--metadata is not JSON: {exc.msg}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = ctx.repo.record_feedback(
            agent=ctx.agent(agent), run_id=run_id, version=version, rating=rating, reason=reason,
            correction=correction, signals=parsed or None, user_id=user_id, input=input_text,
            output=output_text, metadata=meta,
            created_at=parse_since(created_at, "--created-at"), id=feedback_id,
            tool_calls=calls or None)
    _warn(caught)
    if as_json:
        emit_json({"record": record.model_dump(mode="json"),
                   "warnings": [str(w.message) for w in caught]})
        return
    where = f", run {record.run_id}" if record.run_id else ""
    version_text = f", version {record.version[:10]}" if record.version else ""
    echo(f"recorded {record.id} for {record.agent}{where}{version_text}")


@feedback_group.command("import")
@click.argument("file", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "csv"]),
              help="File format: jsonl (a record per line), json (an array of records) or csv "
                   "(default: from the extension and the first character).")
@click.option("--dry-run", is_flag=True, help="Check every line and say what would be imported.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid lines and list the others.")
@click.option("--version", "version", metavar="V",
              help="Version (v3 or a blob id) of the records that name none (default: the one "
                   "live on main when each was made, marked inferred).")
@click.option("--agent", "agent", metavar="NAME",
              help="Agent of the records that name none (an export of one agent's runs); in a "
                   "repository of one agent, that agent.")
@click.option("--map", "maps", metavar="COLUMN=FIELD", multiple=True,
              help="The field of a column (CSV) or key (JSON) another tool named its own way, "
                   "e.g. --map content=reason --map score=rating; with it, columns that name "
                   "no field are left out. Repeatable.")
@click.option("--stars", is_flag=True,
              help="Ratings are 1-5 stars: 1-2 negative, 3 no rating, 4-5 positive.")
@json_option
@pass_ctx
@for_people
def import_cmd(ctx: Context, file: str, fmt: str | None, dry_run: bool, skip_invalid: bool,
               version: str | None, agent: str | None, maps: tuple[str, ...], stars: bool,
               as_json: bool) -> None:
    """Import feedback from a JSON Lines, JSON or CSV file (FILE or - for standard input).

    All-or-nothing: any bad line stops the import and every bad line is listed. Importing the
    same file again adds nothing twice."""
    from gitimprove.feedback.errors import FeedbackImportError
    from gitimprove.feedback.importer import import_feedback, read_source

    repo = ctx.repo
    columns: dict[str, str] | None = None
    for pair in maps:
        column, sep, name = pair.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise FeedbackImportError(f"--map {pair}: give a column and a field, as "
                                      "COLUMN=FIELD", [],
                                      hint="e.g. --map content=reason --map score=rating")
        columns = columns or {}
        columns[column.strip()] = name.strip()
    source, data = read_source(file)
    sole = None
    if agent is None and len(names := repo.agent_names()) == 1:
        agent = sole = names[0]  # as `analyze` and `propose` take it: one agent need not be named
    report = import_feedback(repo.feedback_store(), repo._feedback_index(), source, data,
                             fmt=fmt, dry_run=dry_run, skip_invalid=skip_invalid, version=version,
                             agent=agent, columns=columns, stars=stars)
    if as_json:
        emit_json(report.to_json())
        return
    _warn_grouped(report.warnings)
    for problem in report.invalid:
        echo(f"skipped {problem}", err=True)
    verb = "would import" if dry_run else "imported"
    extra = []
    if report.duplicates:
        extra.append(f"{report.duplicates:,} already present")
    if report.repeated:
        extra.append(f"{report.repeated:,} repeated in the file")
    if report.neutral:
        extra.append(f"{report.neutral:,} with three stars and no text, left out")
    if report.invalid:
        extra.append(f"{len(report.invalid):,} invalid skipped")
    tail = f" ({', '.join(extra)})" if extra else ""
    echo(f"{verb} {report.added:,} of {report.records:,} records from {source}{tail}")
    if report.ignored:
        shown = ", ".join(repr(n) for n in report.ignored[:12])
        more = f" and {len(report.ignored) - 12} more" if len(report.ignored) > 12 else ""
        echo(f"left out (no field named by --map): {shown}{more}")
    if sole is not None and report.unnamed:
        echo(f"note: {report.unnamed:,} record(s) named no agent: they were given to {sole}, the "
             "repository's only agent")
    if report.added and not dry_run:
        for note in _before_first_version(repo, report.ids):
            echo(f"note: {note}")


def _before_first_version(repo: InstructionRepo, ids: list[str]) -> list[str]:
    """What imported feedback older than its agent's first version on main counts for: none."""
    from gitimprove.feedback.attribution import before_first_version

    records = repo.feedback_store().by_ids(ids, with_io=False)
    timelines = repo.timelines({r.agent for r in records if r.version is None})
    return [f"{n:,} record(s) for {agent} are older than its first version on main "
            f"({datetime.fromtimestamp(timelines[agent].history[0].timestamp, UTC):%Y-%m-%d}); "
            "no version was live then, so "
            "`history` and `check-regressions` count them for none"
            for agent, n in sorted(before_first_version(records, timelines).items())]


@feedback_group.command("list")
@click.option("--agent", help="Only this agent.")
@click.option("--since", metavar="DATE", help="Since a date (2026-09-15) or 7d / 24h / 2w ago.")
@click.option("--version", "version", metavar="V", help="Only feedback on this version (blob or v3).")
@click.option("--run-id", help="Only this run.")
@click.option("--records", "raw", is_flag=True, help="One line per record instead of per run.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (newest).")
@json_option
@pass_ctx
@for_people
def list_cmd(ctx: Context, agent: str | None, since: str | None, version: str | None,
             run_id: str | None, raw: bool, limit: int | None, as_json: bool) -> None:
    """List feedback, one line per run (records of the same run merged), oldest first."""
    from gitimprove.feedback.models import merge_runs

    found = ctx.repo.feedback_records(agent, since=parse_since(since), version=version,
                                      run_id=run_id)
    records = found.records
    if raw:
        shown_records = records[-limit:] if limit else records
        if as_json:
            emit_json({"records": [{**r.model_dump(mode="json"),
                                    "version_inferred": r.id in found.inferred}
                                   for r in shown_records]})
            return
        if shown_records:
            echo("\n".join(
                _line(r.created_at, r.agent, found.label(r.agent, r.version, r.id in found.inferred),
                      r.run_id or "-", r.rating, [k for k, v in r.signals.items() if v is True],
                      [r.reason] if r.reason else [], [r.correction] if r.correction else [],
                      r.id, r.tool_calls)
                for r in shown_records))
        return
    runs = merge_runs(records)
    shown = runs[-limit:] if limit else runs
    if as_json:
        emit_json({"runs": [{**run.to_json(), "version_inferred": found.run_inferred(run)}
                            for run in shown]})
        return
    if not shown:
        echo("No feedback yet." if not records else "No feedback matches.")
        return
    # NOTE: one write for all the lines: a write (and a flush) per line was a tenth of the
    # command's time with a few hundred runs.
    echo("\n".join(_line(run.first_at, run.agent,
                         found.label(run.agent, run.versions[-1] if run.versions else None,
                                     found.run_inferred(run)),
                         run.run_id or "-", run.rating, run.trouble, run.reasons,
                         run.corrections, ", ".join(run.feedback_ids), run.tool_calls)
                   for run in shown))
    if any(found.run_inferred(run) for run in shown):
        echo("~: the feedback named no version; shown is the one live on main when it was made")


def _line(when: datetime | None, agent: str, version: str, run: str, rating: str | None,
          flags: list[str], reasons: list[str], corrections: list[str], ids: str,
          tool_calls: list[ToolCall] | None = None) -> str:
    stamp = when.strftime("%Y-%m-%d %H:%M") if when else "-"
    parts = [stamp, agent, version, run, rating or "-"]
    if flags:
        parts.append("[" + ",".join(flags) + "]")
    if tool_calls is not None:
        parts.append("tools: " + shorten(_calls_text(tool_calls), 60))
    text = " | ".join([*(f"reason: {t}" for t in reasons), *(f"correction: {t}" for t in corrections)])
    if text:
        parts.append(shorten(text, 120))
    parts.append(f"({shorten(ids, 40, words=False)})")
    return "  ".join(parts)


def _calls_text(calls: list[ToolCall]) -> str:
    """``web_search x2, lookup_order (error)``: each tool once, in first-call order."""
    if not calls:
        return "none"
    counts: dict[str, list[int]] = {}
    for c in calls:
        seen = counts.setdefault(c.name, [0, 0])
        seen[0] += 1
        seen[1] += c.status == "error"
    return ", ".join(name + (f" x{n}" if n > 1 else "") + (f" ({e} error{'s' * (e > 1)})" if e else "")
                     for name, (n, e) in counts.items())


@feedback_group.command("stats")
@click.option("--agent", help="Only this agent.")
@click.option("--by-version", is_flag=True, help="One row per version of each agent.")
@click.option("--since", metavar="DATE", help="Since a date (2026-09-15) or 7d / 24h / 2w ago.")
@json_option
@pass_ctx
@for_people
def stats_cmd(ctx: Context, agent: str | None, by_version: bool, since: str | None,
              as_json: bool) -> None:
    """Counts, negative rate and signal rates per agent (and per version)."""
    repo = ctx.repo
    if agent is not None:
        repo._feedback_index().check_agent(agent)
    rows = repo.feedback_stats(agent, by_version=by_version, since=parse_since(since))
    if as_json:
        emit_json({"stats": [row.to_json() for row in rows]})
        return
    if not rows:
        from gitimprove.feedback.errors import add_feedback_hint

        echo(f"No feedback yet; {add_feedback_hint(agent)}." if since is None
             else "No feedback since then.")
        return
    for row in rows:
        head, s = row.agent, row.summary
        if by_version:
            head += f" {row.label or (row.version or 'no version')[:10]}"
            if row.inferred_version:
                head += f" ({row.inferred_version} by date)"
        rate = s.negative_rate
        # NOTE: a signal's rate is over the runs that reported it (docs/feedback.md, "Rates"):
        # "task_completed 100%" of 200 of 849 runs must say so
        signals = ", ".join(
            (f"{name} {sig.rate:.0%}" + (f" of {sig.n:,}" if sig.n != s.runs else ""))
            if sig.rate is not None else f"{name} mean {sig.mean:.4g}"
            for name, sig in s.signals.items())
        decisions = s.decisions
        tools = "" if not decisions else (
            f"; tools in {decisions.tool_call_rate:.0%} of {decisions.logged_runs:,} logged runs"
            + (f", {decisions.tool_error_rate:.0%} of {decisions.calls:,} calls failed"
               if decisions.calls else ""))
        echo(f"{head}: {s.records:,} records, {s.runs:,} runs, "
             f"negative {'-' if rate is None else f'{rate:.0%}'} of {s.rated_runs:,} rated"
             f", {s.with_correction:,} corrections"
             + (f"; signals: {signals}" if signals else "") + tools)


@click.command("analyze")
@click.argument("agent", required=False)
@click.option("--since", metavar="DATE", help="Only feedback since a date, or 7d / 24h / 2w ago.")
@click.option("--version", "version", metavar="V", help="Only feedback on this version (blob or v3).")
@click.option("--min-support", type=click.IntRange(min=2),
              help="Fewest items that make a pattern (default: analysis.min_support, 3).")
@click.option("--model/--offline", "use_model", default=None,
              help="Themes named by the policy's model (proposer.model: a few requests, "
                   "capped by analysis.model_max_tokens; none again while the feedback is "
                   "unchanged, as the themes are cached), or the offline grouping only. "
                   "Default: the model when ANTHROPIC_API_KEY is set. On any failure the "
                   "offline grouping is used, with a note.")
@click.option("--all", "show_all", is_flag=True,
              help=f"Show every pattern (default: the {PATTERN_LINES} most important).")
@json_option
@pass_ctx
@for_people
def analyze_cmd(ctx: Context, agent: str | None, since: str | None, version: str | None,
                min_support: int | None, use_model: bool | None, show_all: bool,
                as_json: bool) -> None:
    """Find patterns in an agent's feedback: recurring failures, consistent corrections,
    implicit trouble and successful patterns, most important first. Complaints about the
    product (limits, pricing, login, bugs...) are listed apart: no instruction fixes them.
    Without AGENT, the repository's only agent."""
    repo = ctx.repo
    agent = ctx.agent(agent)
    since_at = parse_since(since)
    if use_model is None:
        use_model = bool(os.environ.get("ANTHROPIC_API_KEY"))
    from gitimprove.proposals.build import evidence_states

    notes: list[str] = []
    bills: list[Bill] = []
    # each pattern in the state `propose` sees it: pending (an open proposal cites all its
    # feedback), addressed (an approved one), or open
    states = evidence_states(repo)
    with cost_told(lambda: bills[0] if bills else None, as_json=as_json):
        patterns = repo.analyze(agent, since=since_at, version=version,
                                evidence_state=lambda fid: states.get(fid, "open"),
                                min_support=min_support, model="on" if use_model else "off",
                                notes=notes, bills=bills)
    if as_json:
        inst = repo.load(agent)
        emit_json({"agent": agent, "version": str(inst.version), "label": inst.label,
                   "min_support": min_support or repo.policy().analysis.min_support,
                   "method": "model" if any(n.startswith("themes by") for n in notes)
                   else "offline", "notes": notes,
                   "model_usage": bills[0].to_json() if bills else None,
                   "patterns": [p.model_dump(mode="json") for p in patterns]})
        return
    for note in notes:
        echo(f"note: {shorten(note, 200)}", err=True)
    if not patterns and repo.feedback_store().count(agent) == 0:
        from gitimprove.feedback.errors import add_feedback_hint

        echo(f"No feedback on {agent} yet; {add_feedback_hint(agent)}.")
    else:
        _show_patterns(agent, patterns, show_all)
        if any(p.fixable and p.state == "open" for p in patterns):
            echo(f"\nNext: gitimprove propose {agent} --dry-run")
    for bill in bills:  # last, as evaluate says it: what the command's model calls cost
        echo(f"Model calls: {bill.said()}")


def _read_as(p: Pattern) -> str | None:
    """The theme a pattern named by its words is about, as the lexicon names it, with how many
    of its items speak of it: "claims the source does not support (144 of 291)"."""
    if p.theme is None or p.key.startswith("concept:"):
        return None
    from gitimprove.patterns.lexicon import concept

    found = concept(p.theme)
    if found is None:
        return None
    name = {"consistent_correction": found.correction,
            "successful_pattern": found.praise}.get(p.kind, found.failure)
    # (theme_ids are records; a run that was redone is one item of several records)
    return f"{name} ({min(len(p.theme_ids) or p.count, p.count):,} of {p.count:,})"


def _show_patterns(agent: str, patterns: list[Pattern], show_all: bool) -> None:
    from gitimprove.patterns.model import topic_tally

    if not patterns:
        echo(f"No patterns in {agent}'s feedback yet (too little, or nothing recurs).")
        return
    product = [p for p in patterns if p.triage == "product"]
    unspecific = [p for p in patterns if p.triage == "unspecific"]
    patterns = [p for p in patterns if p.triage not in ("product", "unspecific")]
    # what is left to do first: a pattern an approved proposal addressed, or an open one cites,
    # comes after the open ones (stable: by importance within each)
    patterns.sort(key=lambda p: _STATE_ORDER.get(p.state, 0))
    if not patterns:
        echo(f"No patterns about {agent}'s answers.")
    else:
        wide = max(5, *(len(f"{p.count:,}") for p in patterns))  # "count", or "12,345"
        echo(paint(f" #  {'kind':<22} {'count':>{wide}}  {'share':>5}  pattern  [section]", "bold"))
    rest_patterns = [] if show_all else patterns[PATTERN_LINES:]
    columns = width()
    # a quote or a list of parts as long as fits the terminal's line (100 characters when
    # the output is no terminal), never under 40
    text_room = 100 if columns is None else max(40, min(100, columns - 9))  # '      "' and '"'
    parts_room = 100 if columns is None else max(40, min(100, columns - 14))  # '      parts: '
    for n, p in enumerate(patterns if show_all else patterns[:PATTERN_LINES], 1):
        section = f"  [{p.section}]" if p.section else ""
        state = f"  ({p.state})" if p.state != "open" else ""
        head = f"{n:>2}. {p.kind:<22} {p.count:>{wide},}  {percent(p.share):>5}  "
        # shortened only where that keeps its section and state on the line
        room = None if columns is None else columns - len(head) - len(section) - len(state) - 1
        label = p.label if room is None or room < 20 else shorten(p.label, room)
        echo(f"{head}{label}{section}{state}")
        for quote in p.quotes[:3]:
            echo(f"      \"{shorten(quote, text_room)}\"")
        if p.parts:
            echo("      parts: " + shorten("; ".join(f"{part.label} ({part.count})"
                                                   for part in p.parts), parts_room))
        read_as = _read_as(p)
        if read_as:
            echo(f"      read as: {shorten(read_as, parts_room)}")
        if p.suggestion:
            echo(f"      suggests: {p.suggestion}")
        lead = f"      {p.id}  evidence: "
        # as many ids as fit the line on a terminal (a list cut short wraps to no purpose)
        room = 80 if columns is None else max(24, columns - len(lead))
        echo(lead + shorten(", ".join(p.feedback_ids), room, words=False))
    if rest_patterns:
        echo(f"... and {len(rest_patterns)} more patterns, "
             f"{sum(p.count for p in rest_patterns):,} items (analyze --all shows them)")
    if product:
        echo("\nNot about the instructions (the product or service; never proposed): "
             + "; ".join(f"{topic}, {count:,}" for topic, count in topic_tally(product)))
        ranked = sorted(product, key=lambda p: (-p.count, p.id))
        shown, rest = ranked[:PRODUCT_LINES], ranked[PRODUCT_LINES:]
        room_n = max(4, *(len(f"{p.count:,}") for p in shown))
        for p in shown:
            line = f"    {p.count:>{room_n},}  {p.topic or 'other'}: {shorten(p.label, 50)}"
            # the quote fits the rest of the line on a terminal (at least 30 characters)
            room = 70 if columns is None else max(30, columns - len(line) - 4)
            echo(line + (f'  "{shorten(p.quotes[0], room)}"' if p.quotes else ""))
            others = [(topic, count) for topic, count in p.topics.items() if topic != p.topic]
            if others and sum(c for _, c in others) >= max(3, MIXED_SHARE * p.count):
                # a group of mixed complaints ("paid for it and still hit the limit"): what
                # its items are about, each by its own words
                echo(" " * (6 + room_n) + "of which " + shorten(", ".join(
                    f"{topic} {count:,}" for topic, count in others), 70))
        if rest:
            echo(f"    ... and {len(rest)} smaller groups, {sum(p.count for p in rest):,} items "
                 f"(analyze --json lists them all)")
    for p in unspecific:
        quotes = "; ".join(f'"{shorten(q, 30)}"' for q in p.quotes[:3])
        echo(f"\nNo reason given (nothing to change an instruction by; never proposed): "
             f"{p.count:,}  {quotes}")


COMMANDS: list[click.Command] = [feedback_group, analyze_cmd]
