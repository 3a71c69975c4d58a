"""`gitimprove report`: the page's content, and the page as a real browser renders it.

The browser test loads the page in headless Chromium (Debian's `chromium`; `make test`
installs it when missing), checks the rendered DOM and the pixels of a screenshot, and keeps
the screenshot in test-artifacts/report.png.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from gitimprove import InstructionRepo
from gitimprove.cli import main
from gitimprove.metrics import version_figures
from gitimprove.proposals.build import propose
from gitimprove.proposals.proposers.heuristic import HeuristicProposer
from gitimprove.report import report_html
from gitimprove.review.actions import approve, rollback
from gitimprove.trials.manage import start_trial
from tests.conftest import ROOT, git

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars"]


def _run(repo: Path, *argv: str) -> int:
    try:
        main(["--repo", str(repo), *argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


@pytest.fixture
def busy(sample_history: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The sample with its feedback, one open proposal in a trial, and an approval that was
    rolled back."""
    assert _run(sample_history, "feedback", "import", str(sample_history / "feedback.jsonl")) == 0
    repo = InstructionRepo(sample_history)
    repo.record_feedback(agent="product-writer", run_id="evil", rating="down",
                         reason='<script>alert(1)</script> & "quotes" </svg>')
    support = propose(repo, "support-agent", HeuristicProposer())
    approve(repo, support.id, by="R <r@example.com>")
    rollback(repo, support.id, reason="to show it", by="R <r@example.com>")
    plan = propose(repo, "product-writer", HeuristicProposer())
    start_trial(repo, plan.id, share="20%", by="R <r@example.com>")
    repo.close()
    capsys.readouterr()
    return sample_history


def test_page_content_is_complete_escaped_and_offline(busy: Path) -> None:
    repo = InstructionRepo(busy)
    page = report_html(repo, ["product-writer", "support-agent"])
    assert page.startswith("<!DOCTYPE html>")
    # nothing to fetch: the only URL is the SVG namespace
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", page))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "<script" not in page
    assert page.count('class="rate-chart"') == 2
    pw = page[page.index('data-agent="product-writer"'):page.index('data-agent="support-agent"')]
    assert 'data-version="v1"' in pw and 'data-version="v2"' in pw
    assert "Open proposals (1)" in pw and "improve/product-writer/" not in pw.split("<pre")[0]
    assert 'data-kind="approved"' in page and 'data-kind="rolled_back"' in page
    assert 'data-kind="human_edit"' in pw  # the sample's own v2 edit
    assert 'data-kind="trial_started"' in pw and "trial started" in pw


def test_text_from_feedback_models_and_commits_is_escaped() -> None:
    from datetime import UTC, datetime

    from gitimprove.report import ReportData, render

    evil = '<script>alert(1)</script> & "q" </svg>'
    data = ReportData(agent="a", branch="main", generated=datetime(2026, 11, 1, tzinfo=UTC),
                      figures=[], events=[{"kind": evil, "time": "2026-10-01T00:00:00+00:00",
                                           "summary": evil}],
                      patterns=[{"label": evil, "kind": "recurring_failure", "count": 3,
                                 "share": 0.1, "quotes": [evil], "state": "open"}],
                      proposals=[{"id": "p1", "summary": evil, "author": evil, "verdict": "pass",
                                  "evidence": ["fb-1"], "diff": evil,
                                  "evidence_quotes": [{"id": "fb-1", "rating": None,
                                                       "text": evil}]}],
                      product=[(evil, 3)])
    page = render([data])
    assert "<script" not in page and "</svg> &" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;") >= 6


def test_cli_writes_the_file_and_refuses_an_unknown_agent(busy: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert _run(busy, "report", "product-writer", "-o", str(out)) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert f"wrote {out}" in capsys.readouterr().out
    assert _run(busy, "report", "product-writr", "-o", str(out)) == 1
    assert "did you mean 'product-writer'" in capsys.readouterr().err
    assert _run(busy, "report", "-o", str(tmp_path)) == 1  # a folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "repo"]  # no temporary left


def test_the_page_is_written_where_git_ignores_it(busy: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # without -o it landed in the checkout as one more untracked file
    assert _run(busy, "report", "product-writer") == 0
    page = busy / ".gitimprove" / "report.html"
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert f"wrote {page}" in capsys.readouterr().out
    assert git(busy, "status", "--porcelain", "--untracked-files=all") == ""


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) pixels of an 8-bit PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if channels == 3 else
                    b"".join(bytes(line[i:i + 3]) for i in range(0, stride, 4)))
        prev = line
    return width, height, rows


def test_a_real_browser_renders_the_chart(busy: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (make test installs it: apt-get install chromium)")
    page = tmp_path / "report.html"
    assert _run(busy, "report", "product-writer", "-o", str(page)) == 0
    repo = InstructionRepo(busy)
    figures = {f.version.label: f.to_json()["rates"]["negative_rate"]
               for f in version_figures(repo, "product-writer")}
    repo.close()
    base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # the chart as the browser parsed it: one point per rated version, at the history's rates
    points = re.findall(r'<g class="point" data-version="(v\d+)" data-rate="([\d.]+)" '
                        r'data-low="([\d.]+)" data-high="([\d.]+)" data-n="(\d+)"', html)
    assert {p[0] for p in points} == {"v1", "v2"}
    for version, rate, low, high, n in points:
        assert float(rate) == pytest.approx(figures[version]["rate"], abs=1e-4)
        assert [float(low), float(high)] == pytest.approx(figures[version]["ci95"], abs=1e-4)
        assert int(n) == figures[version]["n"]
    assert "Negative rate by version (95% interval)" in html and "Open proposals (1)" in html
    assert html.count('class="event"') >= 3
    # and as pixels: the page is drawn, and the chart's points are in the picture
    shot = tmp_path / "report.png"
    proc = subprocess.run([*base, f"--screenshot={shot}", "--window-size=900,1400", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report.png")
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (900, 1400)
    blue = bytes.fromhex("0969da")  # a version's point and interval ("no clear change")
    band = bytes.fromhex("ddf4ff")  # the timeline's first version band
    count = {blue: 0, band: 0}
    for row in rows:
        for i in range(0, len(row), 3):
            px = row[i:i + 3]
            if px in count:
                count[px] += 1
    assert count[blue] > 200 and count[band] > 200, count


def test_complaints_about_the_product_are_counted_apart_from_the_patterns() -> None:
    # 9,208 app reviews: the page listed pricing and crash patterns among the ones
    # instructions can act on; they are counted per topic under the table, as analyze does
    from datetime import UTC, datetime

    from gitimprove.report import ReportData, render

    data = ReportData(agent="a", branch="main", generated=datetime(2026, 11, 1, tzinfo=UTC),
                      figures=[], events=[], proposals=[],
                      patterns=[{"label": "forgets what I said", "kind": "recurring_failure",
                                 "count": 388, "share": 0.04, "quotes": [], "state": "open"}],
                      product=[("pricing", 1609), ("crashes and bugs", 397)], unspecific=183)
    page = render([data])
    assert ("Not about the instructions (the product or service; never proposed): "
            "pricing, 1,609; crashes and bugs, 397") in page
    assert "No reason given (nothing to change an instruction by): 183" in page
    assert page.index("forgets what I said") < page.index("Not about the instructions")
    # a pattern of 388 among 9,208 is 4.0% of them, and 42 among 10,000 is not 0%
    assert '<td class="num">388</td><td class="num">4.0%</td>' in page
    small = ReportData(agent="a", branch="main", generated=datetime(2026, 11, 1, tzinfo=UTC),
                       figures=[], events=[], proposals=[], product=[], unspecific=0,
                       patterns=[{"label": "wrong answers", "kind": "recurring_failure",
                                  "count": 1042, "share": 0.0042, "quotes": [], "state": "open"}])
    assert '<td class="num">1,042</td><td class="num">0.4%</td>' in render([small])
