"""Recording through the library: ``InstructionRepo.record_feedback`` and where the store lives."""

from __future__ import annotations

import sqlite3
import subprocess
import warnings
from pathlib import Path

import pytest

from gitimprove.errors import UnknownAgentError
from gitimprove.feedback.errors import FeedbackStoreError, FeedbackWarning, InvalidFeedbackError
from gitimprove.instructions.repo import InstructionRepo

from ..conftest import commit_file, git


def test_the_three_ways_of_the_issue(repo: InstructionRepo) -> None:
    inst = repo.load("product-writer")
    a = repo.record_feedback(agent="product-writer", run_id="r-1", version=inst.version,
                             rating="negative", reason="Too verbose, needs to be more concise")
    b = repo.record_feedback(agent="product-writer", run_id="r-1", version=inst.version,
                             correction="Product descriptions should focus on benefits, not features")
    c = repo.record_feedback(agent="product-writer", run_id="r-1",
                             signals={"regenerated": True, "task_completed": False})
    stored = repo.feedback_store().records(run_id="r-1")
    assert [r.id for r in stored] == [a.id, b.id, c.id]
    assert stored[0].version == inst.version and stored[2].version is None
    assert stored[2].signals == {"regenerated": True, "task_completed": False}


def test_unknown_agent_is_refused_with_did_you_mean(repo: InstructionRepo) -> None:
    with pytest.raises(UnknownAgentError, match="no agent 'product-writter' on main") as info:
        repo.record_feedback(agent="product-writter", rating="down")
    assert info.value.hint == "did you mean 'product-writer'?"
    assert repo.feedback_store().count() == 0


def test_version_forms(repo: InstructionRepo, sample_repo: Path) -> None:
    v1 = repo.load("support-agent").version
    commit_file(sample_repo, "agents/support-agent.yaml",
                (sample_repo / "agents/support-agent.yaml").read_text().replace(
                    "Be polite and professional.", "Be warm, polite and professional."), "v2")
    v2 = repo.load("support-agent").version
    assert v1 != v2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these warns
        assert repo.record_feedback(agent="support-agent", rating="up", version="v1").version == v1
        assert repo.record_feedback(agent="support-agent", rating="up", version=v2[:8]).version == v2
        assert repo.record_feedback(agent="support-agent", rating="up", version=v2.upper()).version == v2


def test_a_version_not_in_history_warns_and_is_kept(repo: InstructionRepo) -> None:
    other = repo.load("product-writer").version  # a real blob, but another agent's
    with pytest.warns(FeedbackWarning, match=r"not in the history of support-agent on main; the record was kept"):
        kept = repo.record_feedback(agent="support-agent", rating="down", version=other)
    assert repo.feedback_store().get(kept.id) == kept and kept.version == other


def test_a_version_number_that_does_not_exist_is_refused(repo: InstructionRepo) -> None:
    with pytest.raises(InvalidFeedbackError, match=r"support-agent has no version v7 on main \(v1..v1\)"):
        repo.record_feedback(agent="support-agent", rating="down", version="v7")
    assert repo.feedback_store().count() == 0


def test_bad_input_is_refused_and_nothing_written(repo: InstructionRepo) -> None:
    with pytest.raises(InvalidFeedbackError, match="rating: 'meh' is not a rating"):
        repo.record_feedback(agent="product-writer", rating="meh")
    with pytest.raises(InvalidFeedbackError, match="reason: is too long: 10,485,760 characters"):
        repo.record_feedback(agent="product-writer", reason="x" * 10 * 1024 * 1024)
    with pytest.raises(InvalidFeedbackError, match="not valid UTF-8"):
        repo.record_feedback(agent="product-writer", reason=b"\xff\xfe".decode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidFeedbackError, match="empty feedback"):
        repo.record_feedback(agent="product-writer", run_id="r1")
    with pytest.raises(TypeError):
        repo.record_feedback(agent="product-writer", rating="up", colour="red")
    assert repo.feedback_store().count() == 0


def test_recording_the_same_id_twice_adds_it_once(repo: InstructionRepo) -> None:
    for _ in range(2):
        repo.record_feedback(agent="product-writer", id="client-42", rating="up")
    assert repo.feedback_store().count() == 1


def test_default_store_is_in_the_working_tree_and_ignored(repo: InstructionRepo, sample_repo: Path) -> None:
    before = git(sample_repo, "status", "--porcelain")
    repo.record_feedback(agent="product-writer", rating="up")
    db = sample_repo / ".gitimprove" / "feedback.db"
    assert db.exists()
    assert (sample_repo / ".gitimprove" / ".gitignore").read_text().strip().endswith("*")
    assert git(sample_repo, "status", "--porcelain") == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_bare_repository_keeps_feedback_in_the_git_dir(sample_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(sample_repo), str(bare)], check=True)
    repo = InstructionRepo(bare)
    repo.record_feedback(agent="product-writer", rating="up")
    assert (bare / ".gitimprove" / "feedback.db").exists()
    repo.feedback_store().close()


def test_url_from_environment_beats_policy(repo: InstructionRepo, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere" / "fb.db"
    monkeypatch.setenv("GITIMPROVE_FEEDBACK_URL", f"sqlite:///{target}")
    repo.record_feedback(agent="product-writer", rating="up")
    assert target.exists()
    assert repo.feedback_store().url == f"sqlite:///{target}"


def test_main_moved_by_another_process_within_the_window(
        repo: InstructionRepo, sample_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Main's tip is trusted for TIP_RECHECK after it was read (here: an hour); an agent or a
    version made meanwhile is still found: a miss reads main again before refusing."""
    import gitimprove.instructions.repo as repo_module

    monkeypatch.setattr(repo_module, "TIP_RECHECK", 3600.0)

    def settled() -> None:
        # git commands this process runs (reading the agents) end the trust: a record after
        # them reads main once, and the next ones trust it
        for _ in range(2):
            repo.record_feedback(agent="product-writer", version="v1", rating="up")
        with monkeypatch.context() as m:
            m.setattr(repo.git, "read_ref", lambda ref: pytest.fail("main's tip read again"))
            repo.record_feedback(agent="product-writer", version="v1", rating="up")

    settled()
    text = (sample_repo / "agents" / "product-writer.yaml").read_text()
    commit_file(sample_repo, "agents/copy-editor.yaml",
                text.replace("name: product-writer", "name: copy-editor"), "another agent")
    record = repo.record_feedback(agent="copy-editor", version="v1", rating="down")
    assert record.version == repo.load("copy-editor").version
    settled()
    commit_file(sample_repo, "agents/product-writer.yaml", text + "\n", "a new version")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # v2 was made after main was last read: found, no warning
        assert repo.record_feedback(agent="product-writer", version="v2", rating="up").version \
            == repo.load("product-writer").version


def test_main_moved_by_this_process_is_seen_at_once(
        repo: InstructionRepo, sample_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gitimprove.instructions.repo as repo_module

    monkeypatch.setattr(repo_module, "TIP_RECHECK", 3600.0)
    repo.record_feedback(agent="product-writer", rating="up")
    git(sample_repo, "rm", "-q", "agents/product-writer.yaml")
    git(sample_repo, "commit", "-q", "-m", "retire the agent")
    repo.git.run("rev-parse", "HEAD")  # any git command of this process: main is read again
    with pytest.raises(UnknownAgentError, match="no agent 'product-writer'"):
        repo.record_feedback(agent="product-writer", rating="up")


def test_url_from_policy(sample_repo: Path) -> None:
    policy = sample_repo / "gitimprove.yaml"
    commit_file(sample_repo, "gitimprove.yaml", policy.read_text().replace(
        "url: sqlite:///.gitimprove/feedback.db", "url: sqlite:///data/fb.sqlite?timeout=2"), "policy")
    repo = InstructionRepo(sample_repo)
    store = repo.feedback_store()
    assert (sample_repo / "data" / "fb.sqlite").exists()
    assert getattr(store, "timeout", None) == 2.0
    store.close()


@pytest.mark.parametrize("url, message", [
    ("mysql://x/y", "unsupported feedback URL"),
    ("sqlite://host/x.db", "bad SQLite URL"),
    ("sqlite:///", "names no file"),
    ("sqlite:///x.db?timeout=soon", "bad timeout"),
])
def test_bad_urls(repo: InstructionRepo, url: str, message: str) -> None:
    with pytest.raises(FeedbackStoreError, match=message):
        repo.feedback_store(url)


def test_unreadable_databases(repo: InstructionRepo, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(FeedbackStoreError, match="is not a SQLite database or is damaged") as info:
        repo.feedback_store(str(garbage))
    assert "\n" not in info.value.message
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(FeedbackStoreError, match="it is a directory"):
        repo.feedback_store(str(folder))
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(FeedbackStoreError, match="cannot create"):
        repo.feedback_store(str(blocked / "sub" / "x.db"))
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    with pytest.raises(FeedbackStoreError, match="not a gitimprove feedback database"):
        repo.feedback_store(str(foreign))
    assert foreign.read_bytes()[:16] == b"SQLite format 3\x00"  # left as it was
