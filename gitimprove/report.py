"""``gitimprove report``: one self-contained HTML page about one agent.

The page holds the agent's version timeline with what happened to it (approvals, rollbacks,
human edits, proposals, trials started and stopped, and any other event the audit trail
knows, such as evaluations), each version's negative rate with its 95% interval as a chart, the top feedback
patterns, and the open proposals with their diff and evidence. Everything is inline (CSS and
SVG, no script, no font or image from the network), so the file can be mailed or attached to
a ticket. Every text that comes from feedback, a model or a commit is escaped.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from gitimprove.dataclass import dataclass, field
from gitimprove.errors import GitImproveError
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.metrics import VersionFigures, direction, version_figures
from gitimprove.text import percent

MAX_PATTERNS = 8
MAX_QUOTES = 3
MAX_EVIDENCE_SHOWN = 6

# audit event kind -> (marker colour, legend label); unknown kinds get the last entry's colour
_KINDS: dict[str, tuple[str, str]] = {
    "approved": ("#1a7f37", "approval"),
    "rolled_back": ("#cf222e", "rollback"),
    "human_edit": ("#0969da", "human edit"),
    "proposed": ("#8c959f", "proposal"),
    "rejected": ("#6e7781", "rejection"),
    "initialised": ("#57606a", "initialised"),
    "trial_started": ("#bf8700", "trial started"),
    "trial_stopped": ("#9a6700", "trial stopped"),
}
_OTHER = "#8250df"  # evaluations, trials and whatever else the audit trail records


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class ReportData:
    agent: str
    branch: str
    generated: datetime
    figures: list[VersionFigures]  # oldest first
    events: list[dict[str, Any]]
    patterns: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    # items about the product or service per topic, and those that give no reason: beside
    # the patterns instructions can act on, not among them
    product: list[tuple[str, int]] = field(default_factory=list)
    unspecific: int = 0


def collect(repo: InstructionRepo, agent: str, *, now: datetime | None = None) -> ReportData:
    """Everything the page shows, read from git and the feedback store."""
    from gitimprove.audit import audit
    from gitimprove.patterns.model import topic_tally
    from gitimprove.review.actions import list_proposals
    from gitimprove.review.view import review_data

    figures = version_figures(repo, agent)[::-1]
    events = [e.to_json() for e in audit(repo, agent=agent)] + _trial_events(repo, agent)
    events.sort(key=lambda e: str(e["time"]))
    store = repo.feedback_store()
    try:
        found = repo.analyze(agent)
    except GitImproveError:
        found = []
    patterns = [{"label": p.label, "kind": str(p.kind), "count": p.count, "share": p.share,
                 "quotes": list(p.quotes[:MAX_QUOTES]), "state": str(p.state)}
                for p in found if p.triage not in ("product", "unspecific")][:MAX_PATTERNS]
    proposals = []
    for info in list_proposals(repo, agent=agent):
        data = review_data(repo, info.id).to_json()
        quotes = []
        for fid in data["evidence"][:MAX_EVIDENCE_SHOWN]:
            rec = store.get(fid)
            if rec is not None:
                quotes.append({"id": fid, "rating": rec.rating,
                               "text": rec.correction or rec.reason or ""})
        data["evidence_quotes"] = quotes
        proposals.append(data)
    return ReportData(agent, repo.branch, now or datetime.now(UTC), figures, events, patterns,
                      proposals, topic_tally(found),
                      sum(p.count for p in found if p.triage == "unspecific"))


def _trial_events(repo: InstructionRepo, agent: str) -> list[dict[str, Any]]:
    """Trials of the agent's proposals (started, and stopped) as timeline events."""
    from gitimprove.trials.manage import ended_trials, running_trials

    out: list[dict[str, Any]] = []
    starts = [t for t in running_trials(repo) if t.agent == agent]
    stops = [t for t in ended_trials(repo) if t.start.agent == agent]
    for start in starts + [t.start for t in stops]:
        out.append({"kind": "trial_started", "time": start.started_at.isoformat(),
                    "summary": f"trial of {start.proposal}: {start.share:.0%} of {start.unit}s, "
                               f"by {start.started_by}"})
    for stop in stops:
        out.append({"kind": "trial_stopped", "time": stop.stopped_at.isoformat(),
                    "summary": f"trial of {stop.start.proposal} stopped: {stop.reason}"})
    return out


# -- SVG ---------------------------------------------------------------------------------------


def rate_chart(agent: str, figures: list[VersionFigures], width: int = 760,
               height: int = 280) -> str:
    """Each version's negative rate as a point with its 95% Wilson interval, oldest left."""
    left, right, top, bottom = 56, 16, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(figures), 1)
    step = plot_w / n

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="rate-chart" data-agent="{_e(agent)}" '
             'role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'aria-label="Negative rate per version with 95% interval">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{left - 8}" y="{ty + 4:.1f}" text-anchor="end" class="tick">'
                     f'{tick:.0%}</text>')
    for i, f in enumerate(figures):
        cx = left + step * (i + 0.5)
        rate = f.rates["negative_rate"]
        label = f.version.label
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 18}" text-anchor="middle" '
                     f'class="vlabel">{_e(label)}</text>')
        if not rate.n:
            parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 34}" text-anchor="middle" '
                         'class="note">no ratings</text>')
            continue
        lo, hi = rate.interval() or (0.0, 0.0)
        value = rate.value or 0.0
        colour = "#cf222e" if f.verdict == "worse" else (
            "#1a7f37" if f.verdict == "better" else "#0969da")
        parts.append(
            f'<g class="point" data-version="{_e(label)}" data-rate="{value:.4f}" '
            f'data-low="{lo:.4f}" data-high="{hi:.4f}" data-n="{rate.n}" '
            f'data-verdict="{_e(f.verdict)}">'
            f'<title>{_e(label)}: negative {value:.0%} (95% interval {lo:.0%}-{hi:.0%}) '
            f'of {rate.n} rated runs; {_e(f.verdict)}</title>'
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(hi):.1f}" y2="{y(lo):.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<line x1="{cx - 8:.1f}" x2="{cx + 8:.1f}" y1="{y(hi):.1f}" y2="{y(hi):.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<line x1="{cx - 8:.1f}" x2="{cx + 8:.1f}" y1="{y(lo):.1f}" y2="{y(lo):.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="{cx:.1f}" cy="{y(value):.1f}" r="6" fill="{colour}"/>'
            f'<text x="{cx + 12:.1f}" y="{y(value) + 4:.1f}" class="value">{value:.0%}</text>'
            f'</g>')
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 34}" text-anchor="middle" '
                     f'class="note">n={rate.n}</text>')
    parts.append(f'<text x="14" y="{top + plot_h / 2:.1f}" class="axis" '
                 f'transform="rotate(-90 14 {top + plot_h / 2:.1f})" text-anchor="middle">'
                 'negative rate</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(agent: str, figures: list[VersionFigures], events: list[dict[str, Any]],
             now: datetime, width: int = 760, height: int = 150) -> str:
    """Versions as bands along time, with every audit event as a marker on them."""
    left, right = 16, 16
    times = [f.version.timestamp for f in figures]
    times += [int(datetime.fromisoformat(e["time"]).timestamp()) for e in events]
    if not times:
        return '<p class="note">No versions on the main branch.</p>'
    start = min(times)
    end = max(max(times), int(now.timestamp()))
    span = max(end - start, 1)

    def x(ts: float) -> float:
        return left + (width - left - right) * (ts - start) / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" data-agent="{_e(agent)}" '
             f'role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="Version timeline">']
    band_y, band_h = 56, 28
    for i, f in enumerate(figures):
        x0 = x(f.version.timestamp)
        x1 = x(figures[i + 1].version.timestamp) if i + 1 < len(figures) else x(end)
        fill = "#ddf4ff" if i % 2 == 0 else "#b6e3ff"
        parts.append(f'<g class="version" data-version="{_e(f.version.label)}">'
                     f'<title>{_e(f.version.label)} from {f.version.date:%Y-%m-%d %H:%M}: '
                     f'{_e(f.version.subject)}</title>'
                     f'<rect x="{x0:.1f}" y="{band_y}" width="{max(x1 - x0, 2):.1f}" '
                     f'height="{band_h}" fill="{fill}" stroke="#0969da" stroke-width="0.5"/>'
                     f'<text x="{x0 + 4:.1f}" y="{band_y + 18}" class="vlabel">'
                     f'{_e(f.version.label)}</text></g>')
    for e in events:
        colour = _KINDS.get(e["kind"], ("", ""))[0] or _OTHER
        ex = x(datetime.fromisoformat(e["time"]).timestamp())
        up = e["kind"] in ("proposed", "rejected")
        my = band_y - 14 if up else band_y + band_h + 14
        parts.append(f'<g class="event" data-kind="{_e(e["kind"])}">'
                     f'<title>{_e(e["time"][:16].replace("T", " "))} {_e(e["kind"])}: '
                     f'{_e(e.get("summary") or "")}</title>'
                     f'<line x1="{ex:.1f}" x2="{ex:.1f}" y1="{band_y}" y2="{my:.1f}" '
                     f'stroke="{colour}"/><circle cx="{ex:.1f}" cy="{my:.1f}" r="5" '
                     f'fill="{colour}"/></g>')
    parts.append(f'<text x="{left}" y="{height - 8}" class="tick">'
                 f'{datetime.fromtimestamp(start, UTC):%Y-%m-%d}</text>')
    parts.append(f'<text x="{width - right}" y="{height - 8}" text-anchor="end" class="tick">'
                 f'{datetime.fromtimestamp(end, UTC):%Y-%m-%d}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the page ----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:820px;
color:#1f2328;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.sub,.note{color:#656d76;font-size:13px}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{color:#656d76;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.num,td.date{white-space:nowrap}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px;border-radius:6px}
.grid{stroke:#eaeef2}.tick,.note{fill:#656d76;font-size:11px}.vlabel{font-size:12px;font-weight:600}
.value{font-size:11px}.axis{fill:#656d76;font-size:12px}.legend span{margin-right:14px;font-size:13px}
.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}
.worse{color:#cf222e;font-weight:600}.better{color:#1a7f37;font-weight:600}
blockquote{margin:4px 0 4px 12px;color:#57606a;border-left:3px solid #d0d7de;padding-left:8px}
.proposal{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:12px 0}
"""


def render(sections: list[ReportData]) -> str:
    """The page as text: one section per agent."""
    title = ", ".join(d.agent for d in sections) or "no agents"
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}: gitimprove report</title><style>{_CSS}</style></head><body>"]
    for data in sections:
        out += _section(data)
    out.append('<p class="note">Made by gitimprove from git and the feedback store; figures '
               'as in <code>gitimprove history</code>.</p></body></html>\n')
    return "".join(out)


def _section(data: ReportData) -> list[str]:
    current = data.figures[-1].version.label if data.figures else "-"
    out = [f'<section class="agent" data-agent="{_e(data.agent)}">',
           f'<h1>{_e(data.agent)}</h1>',
           f'<p class="sub">current version <b class="current">{_e(current)}</b> on '
           f'{_e(data.branch)} &middot; report made {data.generated:%Y-%m-%d %H:%M} UTC</p>']
    out.append('<h2>Timeline</h2>')
    out.append(timeline(data.agent, data.figures, data.events, data.generated))
    kinds = sorted({e["kind"] for e in data.events})
    legend = "".join(f'<span><i class="dot" style="background:{_KINDS.get(k, ("", ""))[0] or _OTHER}">'
                     f'</i>{_e(_KINDS.get(k, ("", k.replace("_", " ")))[1])}</span>'
                     for k in kinds)
    out.append(f'<p class="legend">{legend}</p>')
    out.append('<h2>Negative rate by version (95% interval)</h2>')
    out.append(rate_chart(data.agent, data.figures))
    out.append('<table class="versions"><tr><th>version</th><th>since</th><th>runs</th>'
               '<th>negative</th><th>95% interval</th><th>verdict vs previous</th>'
               '<th>change</th></tr>')
    for f in reversed(data.figures):
        rate = f.rates["negative_rate"]
        ci = rate.interval()
        inferred = "*" if f.inferred else ""
        verdict = f.verdict
        cls = verdict if verdict in ("worse", "better") else ""
        out.append(
            f'<tr><td>{_e(f.version.label)}</td><td class="date">{f.version.date:%Y-%m-%d}</td>'
            f'<td class="num">{f.runs}{inferred}</td>'
            f'<td class="num">{"-" if rate.value is None else f"{rate.value:.0%}"}</td>'
            f'<td class="num">{"-" if ci is None else f"{ci[0]:.0%}-{ci[1]:.0%}"}</td>'
            f'<td class="{cls}">{_e(verdict)}'
            f'{" vs " + _e(f.previous.label) if f.previous else ""}</td>'
            f'<td>{_e(f.version.subject)}</td></tr>')
    out.append("</table>")
    if any(f.inferred for f in data.figures):
        out.append('<p class="note">* includes feedback that named no version, counted for the '
                   'version live on main when it was made</p>')
    out += _tool_table(data.figures)
    out.append('<h2>Top patterns in the feedback</h2>')
    if data.patterns:
        out.append('<table class="patterns"><tr><th>#</th><th>pattern</th><th>kind</th>'
                   '<th>count</th><th>share</th></tr>')
        for i, p in enumerate(data.patterns, 1):
            quotes = "".join(f"<blockquote>{_e(q)}</blockquote>" for q in p["quotes"])
            out.append(f'<tr><td class="num">{i}</td><td>{_e(p["label"])}{quotes}</td>'
                       f'<td>{_e(p["kind"])}</td><td class="num">{p["count"]:,}</td>'
                       f'<td class="num">{percent(p["share"])}</td></tr>')
        out.append("</table>")
    else:
        out.append('<p class="note">No patterns: not enough feedback yet.</p>')
    if data.product:
        said = "; ".join(f"{_e(topic)}, {count:,}" for topic, count in data.product)
        out.append(f'<p class="product">Not about the instructions (the product or service; '
                   f'never proposed): {said}</p>')
    if data.unspecific:
        out.append(f'<p class="note">No reason given (nothing to change an instruction by): '
                   f'{data.unspecific:,}</p>')
    out.append(f'<h2>Open proposals ({len(data.proposals)})</h2>')
    if not data.proposals:
        out.append('<p class="note">None open.</p>')
    for prop in data.proposals:
        verdict = prop.get("verdict", "")
        out.append(f'<div class="proposal" data-proposal="{_e(prop["id"])}">'
                   f'<p><b>{_e(prop["id"])}</b> {_e(prop["summary"])} '
                   f'<span class="note">by {_e(prop["author"])}; validator: {_e(verdict)}; '
                   f'evidence: {len(prop["evidence"])} feedback records</span></p>')
        out.append(f'<pre class="diff">{_e(prop["diff"])}</pre>')
        for q in prop["evidence_quotes"]:
            out.append(f'<blockquote><span class="note">{_e(q["id"])} '
                       f'{_e(q["rating"] or "")}</span> {_e(q["text"])}</blockquote>')
        out.append(f'<p class="note">review: gitimprove review {_e(prop["id"])}</p></div>')
    out.append("</section>")
    return out


def _tool_table(figures: list[VersionFigures]) -> list[str]:
    """Tool use by version (what the agent did), when any run's tool calls were logged."""
    logged = [f for f in figures if f.decisions.get("tool_calls") and f.decisions["tool_calls"].n]
    if not logged:
        return []
    out = ['<h2>Tool use by version</h2>',
           '<table class="tools"><tr><th>version</th><th>logged runs</th><th>tools used</th>'
           '<th>tool errors</th><th>by tool (share of runs)</th><th>change</th></tr>']
    for f in reversed(logged):
        calls, errors = f.decisions["tool_calls"], f.decisions.get("tool_errors")
        ranked = sorted(f.tools.items(), key=lambda kv: (-kv[1].hits, kv[0]))[:4]
        tools = ", ".join(f"{name} {rate.value or 0:.0%}" for name, rate in ranked)
        change = next((c for c in f.decision_changes if c.metric == "tool_calls"), None)
        moved = (f"tool use {change.difference * 100:+.0f} pts ({direction(change)}) vs "
                 f"{f.previous.label}" if change is not None and f.previous is not None else "")
        out.append(
            f'<tr><td>{_e(f.version.label)}</td><td class="num">{calls.n}</td>'
            f'<td class="num">{calls.value or 0:.0%}</td>'
            f'<td class="num">{"-" if not errors or not errors.n else f"{errors.value or 0:.0%}"}</td>'
            f'<td>{_e(tools)}</td><td>{_e(moved)}</td></tr>')
    out.append("</table>")
    return out


def report_html(repo: InstructionRepo, agents: list[str] | None = None, *,
                now: datetime | None = None) -> str:
    """The report page of ``agents`` (every agent on main by default)."""
    names = agents or repo.agent_names()
    return render([collect(repo, name, now=now) for name in names])
