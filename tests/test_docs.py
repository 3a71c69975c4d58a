"""`gitimprove docs`: the pages messages point to ship with the package, and every message
names a page by topic, never by a path in the repository a pip user does not have."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gitimprove import manual

from .test_cli import invoke, run_main

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gitimprove"
PAGES = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))


def test_the_package_reads_the_repositorys_docs_not_a_copy() -> None:
    assert (PACKAGE / "docs").resolve() == (ROOT / "docs").resolve()
    assert '"gitimprove.docs" = ["*.md"]' in (ROOT / "pyproject.toml").read_text()


def test_docs_lists_every_page_with_its_title() -> None:
    result = invoke("docs")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names == PAGES
    assert re.search(r"^  evaluation +Evidence before approval", result.stdout, re.M)


def test_docs_prints_a_page_as_written() -> None:
    piped = subprocess.run([sys.executable, "-m", "gitimprove", "docs", "evaluation"],
                           capture_output=True, text=True, check=True)
    assert piped.stdout == (ROOT / "docs" / "evaluation.md").read_text().rstrip("\n") + "\n"
    assert invoke("docs", "docs/safety.md").stdout.startswith("# Safety")


def test_an_unknown_topic_is_an_error_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "docs", "evaluaton")
    assert (code, out) == (1, "")
    assert err == "error: no documentation topic 'evaluaton'\n  hint: did you mean 'evaluation'?\n"


def test_a_page_is_read_as_data(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("# X\n\x1b[2Jcleared\n")
    assert manual.read("x", root=tmp_path) == "# X\n\x1b[2Jcleared\n"
    assert manual.topics(root=tmp_path) == [manual.Topic("x", "X")]
    with pytest.raises(manual.GitImproveError, match="missing from this installation"):
        manual.topics(root=tmp_path / "none")


def test_a_page_is_filled_to_the_terminal_code_and_tables_as_written() -> None:
    page = ("# A title longer than twenty\n\nA paragraph hard-wrapped\nat some width goes on.\n\n"
            "- an item whose text\n  goes on below it\n1. numbered\n\n"
            "```\nkeep   this   line as it is\n```\n| a | b |")
    assert manual.reflow(page, 20).split("\n") == [
        "# A title longer than twenty", "", "A paragraph", "hard-wrapped at some",
        "width goes on.", "", "- an item whose text", "  goes on below it", "1. numbered", "",
        "```", "keep   this   line as it is", "```", "| a | b |"]


def _strings(tree: ast.AST) -> list[str]:
    """The string constants of a module that are not docstrings."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef |
                                ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docstrings]


def test_messages_name_a_topic_that_exists_never_a_path() -> None:
    paths, topics = [], set()
    for source in sorted(PACKAGE.rglob("*.py")):
        for text in _strings(ast.parse(source.read_text(), str(source))):
            paths += [f"{source.relative_to(ROOT)}: {m}" for m in re.findall(r"docs/[\w-]+\.md", text)]
            topics.update(re.findall(r"gitimprove docs ([a-z][\w-]*)", text))
    assert paths == []
    assert topics and topics <= set(PAGES)
