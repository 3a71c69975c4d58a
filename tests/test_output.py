"""Output for people: wrapping, colour and the pager (gitimprove/cli/output.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitimprove.cli import output


class _Tty:
    """A standard output that says it is a terminal, collecting what is written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str | bytes) -> int:
        self.parts.append(text.decode() if isinstance(text, bytes) else text)
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def buffer(self) -> _Tty:
        return self


def test_wrap_keeps_words_whole_with_a_hanging_indent() -> None:
    line = "  v2    2c7e9ad96f  " + "word " * 30
    lines = output.wrap(line.rstrip(), 40)
    assert all(len(x) <= 40 for x in lines)
    assert lines[0].startswith("  v2") and all(x.startswith("      ") for x in lines[1:])
    assert " ".join(" ".join(lines).split()) == " ".join(line.split())


def test_no_wrapping_and_no_colour_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert output.width() is None and output.fit("x " * 200) == "x " * 200
    assert output.paint("worse", "red") == "worse"
    assert output.pager_command() is None


def _colour_terminal(monkeypatch: pytest.MonkeyPatch) -> _Tty:
    """Standard output a terminal that takes colour; what reaches it."""
    tty = _Tty()
    monkeypatch.setattr(sys, "stdout", tty)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    return tty


def test_colour_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _colour_terminal(monkeypatch)
    output.show(output.paint("worse", "red") + " \x1b[2J data")
    assert tty.parts[-1] == "\x1b[31mworse\x1b[0m \\x1b[2J data\n"  # ours in colour, theirs escaped
    monkeypatch.setenv("NO_COLOR", "")
    assert output.paint("worse", "red") == "worse"


def test_data_cannot_forge_our_colour_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    # feedback or a model's rule holding the private-use characters paint marks colour with:
    # once they became "\x1b[8m" (concealed), hiding the text from the person reading it
    tty = _colour_terminal(monkeypatch)
    forged = "\ue0008\ue001Always refund in full.\ue002"
    output.show(output.paint("  +rule:", "green") + " " + forged)
    shown = tty.parts[-1]
    assert shown.startswith("\x1b[32m  +rule:\x1b[0m ")  # ours still in colour
    assert shown.count("\x1b[") == 2 and "Always refund in full." in shown


def test_text_from_outside_cannot_reach_the_terminal() -> None:
    assert output.clean("ok\x1b[2J\x1b]0;title\x07 \x9b31m done\n") == \
        "ok\\x1b[2J\\x1b]0;title\\x07 \\x9b31m done\n"


def test_pager_like_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tty = _Tty()
    monkeypatch.setattr(sys, "stdout", tty)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "10")
    sink = tmp_path / "paged.txt"
    monkeypatch.setenv("GIT_PAGER", f"cat > {sink}")
    monkeypatch.setenv("PAGER", "false")
    assert output.pager_command() == f"cat > {sink}"
    with output.paged() as page:
        for i in range(30):
            page.echo(f"line {i}")
    assert sink.read_text().splitlines()[29] == "line 29"  # GIT_PAGER wins over PAGER
    sink.unlink()
    with output.paged() as page:
        page.echo("short")
    assert not sink.exists() and "short\n" in "".join(tty.parts)  # one screen: no pager
    with output.paged(no_pager=True) as page:
        for i in range(30):
            page.echo(f"line {i}")
    assert not sink.exists()  # --no-pager
    monkeypatch.setenv("GIT_PAGER", "cat")
    assert output.pager_command() is None


def _drain(main_fd: int) -> str:
    """Everything written to a pseudo-terminal whose other end is closed; the end closed too."""
    import os

    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    return b"".join(chunks).decode()


def _on_a_terminal(repo: Path, tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[str, str]:
    """Run gitimprove with a pseudo-terminal as standard output: (what reached the terminal,
    what reached the pager's file)."""
    import os
    import pty
    import subprocess

    sink = tmp_path / "paged.txt"
    sink.unlink(missing_ok=True)
    main_fd, child_fd = pty.openpty()
    full = {**os.environ, "COLUMNS": "60", "LINES": "12", "TERM": "xterm",
            "GIT_PAGER": f"cat > {sink}", **env}
    full = {k: v for k, v in full.items() if v != "<unset>"}
    proc = subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(repo), *args],
                          stdout=child_fd, stderr=subprocess.PIPE, env=full, timeout=120)
    os.close(child_fd)
    screen = _drain(main_fd)
    assert proc.returncode == 0, proc.stderr
    return screen, sink.read_text() if sink.exists() else ""


def test_commands_wrap_page_and_colour_on_a_terminal_only(sample_history: Path,
                                                         tmp_path: Path) -> None:
    import subprocess

    subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(sample_history), "feedback",
                    "import", str(sample_history / "feedback.jsonl")], check=True,
                   capture_output=True)
    screen, paged = _on_a_terminal(sample_history, tmp_path, "analyze", "product-writer",
                                   env={"NO_COLOR": "<unset>"})
    assert screen == "" and paged  # longer than the screen: through GIT_PAGER
    assert all(len(output._ANSI.sub("", line)) <= 60 for line in paged.splitlines())
    assert "\x1b[1m #  kind" in paged  # the column headers, in bold
    screen, paged = _on_a_terminal(sample_history, tmp_path, "--no-pager", "audit",
                                   env={"NO_COLOR": "1"})
    assert paged == "" and "human_edit" in screen and "\x1b[" not in screen
    piped = subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(sample_history),
                            "history", "product-writer"], capture_output=True, text=True,
                           env={**__import__("os").environ, "COLUMNS": "60"})
    assert max(len(x) for x in piped.stdout.splitlines()) > 60  # a pipe gets whole lines
    assert "\x1b[" not in piped.stdout


def _all_on_a_terminal(repo: Path, *args: str, columns: int = 60) -> tuple[int, str]:
    """Run gitimprove with a pseudo-terminal as standard output and standard error, no pager:
    (exit code, what reached the terminal)."""
    import os
    import pty
    import subprocess

    main_fd, child_fd = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "500", "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-m", "gitimprove", "--no-pager", "--repo",
                             str(repo), *args], stdout=child_fd, stderr=child_fd, env=env)
    os.close(child_fd)
    screen = _drain(main_fd)  # while it runs: a full terminal would hold the command up
    return proc.wait(timeout=120), screen.replace("\r\n", "\n")


def test_a_dry_run_fits_the_terminal_and_folds_the_data(sample_history: Path) -> None:
    import subprocess

    subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(sample_history), "feedback",
                    "import", str(sample_history / "feedback.jsonl")], check=True,
                   capture_output=True)
    code, screen = _all_on_a_terminal(sample_history, "propose", "product-writer", "--dry-run")
    assert code == 0, screen
    assert max(len(line) for line in screen.splitlines()) <= 60, screen
    assert '{"operations"' not in screen  # the content block: one line saying where it is
    assert "(the operations as data: `propose --dry-run --json`)" in screen
    assert "more (all: propose --dry-run --json)" in " ".join(screen.split())  # evidence folded
    assert "pat-" in screen and not any(  # a list of ids wraps between ids, not inside one
        line.rstrip().endswith(("pat", "pat-")) for line in screen.splitlines())
    piped = subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(sample_history),
                            "propose", "product-writer", "--dry-run"], capture_output=True,
                           text=True)
    assert '{"operations"' not in piped.stdout and "+++ b/agents/product-writer.yaml" in piped.stdout
    assert max(len(line) for line in piped.stdout.splitlines()) > 60  # a pipe gets whole lines


def test_analyze_shows_the_evidence_ids_that_fit_one_line(sample_history: Path) -> None:
    import subprocess

    subprocess.run([sys.executable, "-m", "gitimprove", "--repo", str(sample_history), "feedback",
                    "import", str(sample_history / "feedback.jsonl")], check=True,
                   capture_output=True)
    code, screen = _all_on_a_terminal(sample_history, "analyze", "product-writer", columns=72)
    assert code == 0, screen
    lines = screen.splitlines()
    evidence = [n for n, line in enumerate(lines) if "  evidence: fb-" in line]
    assert evidence and all(len(lines[n]) <= 72 for n in evidence)
    assert any(lines[n].endswith("…") for n in evidence)  # a long list, cut where the line ends
    # ... the next line is the next pattern's, not the rest of the list
    assert all(not lines[n + 1].lstrip().startswith("fb-") for n in evidence if n + 1 < len(lines))
    # quotes and parts fit the line too (they were cut at 100 characters whatever the width)
    quoted = [line for line in lines if line.startswith('      "') or line.startswith("      parts: ")]
    assert quoted and all(len(line) <= 72 for line in quoted), quoted
    assert any(line.endswith('…"') for line in quoted)


def test_agents_on_a_narrow_terminal_keep_protected_and_its_value_together(
        sample_history: Path) -> None:
    # an ADK agent's many sections wrapped the row between "protected:" and its value
    code, screen = _all_on_a_terminal(sample_history, "agents", columns=80)
    assert code == 0, screen
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines), screen
    said = [line.strip() for line in lines if "protected:" in line]
    assert said and all(not line.endswith("protected:") for line in lines)
    assert any(line.startswith("protected: safety") for line in said)  # a line of its own
    wide = _all_on_a_terminal(sample_history, "agents", columns=200)[1]
    assert all("sections: " in line and "protected: " in line for line in wide.splitlines())


def test_errors_and_hints_fit_the_terminal(sample_history: Path) -> None:
    code, screen = _all_on_a_terminal(sample_history, "trial", "start", "x", "--share", "200%",
                                      columns=50)
    assert code == 1
    assert screen.startswith("error: ") and "\n  hint: " in screen
    assert max(len(line) for line in screen.splitlines()) <= 50, screen
    code, screen = _all_on_a_terminal(sample_history, "check-regressions", columns=50)
    assert code == 4 and "This is not a pass." in " ".join(screen.split())
    assert max(len(line) for line in screen.splitlines()) <= 50, screen


def test_init_fits_the_terminal(tmp_path: Path) -> None:
    import subprocess

    crew = tmp_path / "crew"
    config = crew / "src" / "latest_ai_development" / "config"
    config.mkdir(parents=True)
    (config / "agents.yaml").write_text(
        "researcher:\n  role: >\n    {topic} Senior Data Researcher\n  goal: >\n"
        "    Uncover cutting-edge developments in {topic}\n  backstory: >\n"
        "    You're a seasoned researcher with a knack for uncovering the latest developments.\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(crew)], check=True)
    code, screen = _all_on_a_terminal(crew, "init", str(crew), columns=50)
    assert code == 0, screen
    assert "src/latest_ai_development/config/agents.yaml (crewai): researcher" in \
        " ".join(screen.split())
    assert max(len(line) for line in screen.splitlines()) <= 50, screen


def test_a_diff_line_wraps_under_its_own_text() -> None:
    added = "  +      - State only facts given in the input; leave out anything you cannot check."
    lines = output.wrap(added, 60)
    assert lines[0].startswith("  +      - State") and lines[1].startswith(" " * 13 + "anything")
    bullet = "- lead with customer benefits, not specs (consistent correction, 14 items)"
    assert output.wrap(bullet, 60)[1].startswith("    ")  # a bullet keeps its usual hang


def test_a_quoted_block_keeps_its_bar_on_every_line() -> None:
    # the demo shows review's screen as "   | ..."; a wrapped line lost the bar and read as
    # the demo's own narration
    line = "   |   merge_with_git  git checkout main && git merge --no-ff improve/product-writer/x"
    lines = output.wrap(line, 60)
    assert len(lines) == 2 and all(len(x) <= 60 for x in lines)
    assert lines[0].startswith("   |   merge_with_git") and lines[1].startswith("   |       --no-ff")


def test_commands_that_change_things_fit_the_terminal_too(sample_history: Path) -> None:
    for args in (["feedback", "import", str(sample_history / "feedback.jsonl")],
                 ["hooks", "install"], ["rollback", "product-writer@v1", "--reason", "a test"]):
        code, screen = _all_on_a_terminal(sample_history, *args, columns=50)
        assert code == 0, screen
        assert max(len(line) for line in screen.splitlines()) <= 50, screen


def test_the_demo_fits_the_terminal(tmp_path: Path) -> None:
    code, screen = _all_on_a_terminal(tmp_path, "demo", "--dir", str(tmp_path / "demo"),
                                      columns=60)
    assert code == 0, screen
    assert "== 5. Review" in screen and max(len(line) for line in screen.splitlines()) <= 60


def test_wide_characters_count_two_columns() -> None:
    line = "      \"super app 🥳🥰 this app help to my assignment and my study 👩 🎓 best app\""
    assert output.visible_len("🥳a") == 3 and output.visible_len("\x1b[1mab\x1b[0m") == 2
    lines = output.wrap(line, 40)
    assert len(lines) > 1 and all(output.visible_len(x) <= 40 for x in lines)
    assert " ".join(" ".join(lines).split()) == " ".join(line.split())


def test_a_line_of_chinese_fills_the_screen_instead_of_a_narrow_column() -> None:
    # the width was cut by the wide characters' extra columns: a crewAI backstory in Chinese
    # was wrapped to 8 characters a line, its '{risk_analysis_input}' cut in three
    line = ("      只解释 {risk_analysis_input} 中的 SEC filing 文本和元数据，提取供应链、客户集中、"
            "监管和地区宏观风险；忽略所有前序任务输出。")
    lines = output.wrap(line, 40)
    assert lines == ["      只解释 {risk_analysis_input} 中的",
                     "          SEC filing 文本和元数据，提取",
                     "          供应链、客户集中、监管和地区宏",
                     "          观风险；忽略所有前序任务输出。"]
    assert all(output.visible_len(x) <= 40 for x in lines)


def test_review_colours_the_diff_not_the_messages_items(monkeypatch: pytest.MonkeyPatch) -> None:
    # "- 'x' (4 items): about the pricing..." in the message is not a removed line
    from gitimprove.cli.review import _coloured_review

    monkeypatch.setattr(sys, "stdout", _Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    text = ("Proposal x\n  Left out, and why:\n  - 'limits' (4 items): about the usage limits\n\n"
            "Diff:\n  --- a/f\n  +++ b/f\n  @@ -1 +1 @@\n  -old rule\n  +new rule\n\n"
            "Validator: passes")
    lines = _coloured_review(text).split("\n")
    assert lines[2] == "  - 'limits' (4 items): about the usage limits"
    assert lines[8] == output.paint("  -old rule", "red") != "  -old rule"
    assert lines[9] == output.paint("  +new rule", "green")
    assert lines[7] == output.paint("  @@ -1 +1 @@", "cyan")


def test_docs_page_through_the_pager_on_a_terminal_only(tmp_path: Path) -> None:
    screen, paged = _on_a_terminal(tmp_path, tmp_path, "docs", "safety", env={})
    assert screen == "" and paged.startswith("# Safety")  # longer than the screen
    code, screen = _all_on_a_terminal(tmp_path, "docs", "safety", columns=80)  # --no-pager
    assert code == 0 and screen.startswith("# Safety")
    assert all(len(line) <= 80 for line in screen.splitlines())


def test_text_is_cut_at_the_end_of_a_word() -> None:
    from gitimprove.text import shorten

    said = "rule 2 already says how to end; a second rule would contradict it, so it is extended"
    assert shorten(said, 60) == "rule 2 already says how to end; a second rule would…"
    assert shorten("abcdefghijklmnopqrstuvwxyz", 10) == "abcdefghi…"      # no word ends: cut
    assert shorten("无法登录无法登录无法登录", 6) == "无法登录无…"                # no spaces: cut
    ids = "fb-01a21be5a8372c4b7b9290c76655, fb-0a3b4c5d6e7f"
    assert shorten(ids, 40, words=False) == ids[:39] + "…"                # ids: as many as fit
    assert len(shorten(said, 60)) <= 60


def test_a_status_gives_way_count_first_then_the_model_never_the_figures() -> None:
    from gitimprove.cli.context import fitted

    status = "waiting for claude-sonnet-5-5 (request 3 of at most 8): 12 s, at most 9 min more"
    assert fitted(status, 100) == status
    assert fitted(status, 60) == "waiting for claude-sonnet-5-5: 12 s, at most 9 min more"
    assert fitted(status, 45) == "waiting for claude…: 12 s, at most 9 min more"
    assert fitted(status, 30) == "waiting for claude-sonnet-5-5…"  # no room for both: cut
    assert fitted("waiting for claude-sonnet-5-5: 12 s", 20) == "waiting for claude-…"
