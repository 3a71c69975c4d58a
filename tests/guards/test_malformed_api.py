"""Malformed 200 answers of the Messages API are a clear refusal (exit 1), never exit 3."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git
from tests.fakes import anthropic_server as fake

from .conftest import gi, refused

CASES: dict[str, Callable[[], fake.Reply]] = {
    "not-json": fake.not_json, "truncated": fake.truncated, "null-content": fake.null_content,
    "missing-usage": fake.missing_usage, "null-usage": fake.null_usage,
    "negative-usage": fake.negative_usage,
    "deeply-nested": fake.deeply_nested,
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_answer_is_refused_clearly(with_feedback: Path, name: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    refs = git(with_feedback, "for-each-ref")
    with fake.FakeAnthropicServer() as api:
        api.script(CASES[name](), CASES[name]())
        proc = gi(with_feedback, "propose", "product-writer", "--proposer", "anthropic",
                  env={"ANTHROPIC_API_KEY": str(api.api_key), "ANTHROPIC_BASE_URL": api.base_url})
    err = refused(proc)
    assert "Anthropic API" in err and "malformed" in err, err
    assert git(with_feedback, "for-each-ref") == refs, "nothing was written"


def test_the_fake_sends_the_bytes_it_is_given() -> None:
    with fake.FakeAnthropicServer() as api:
        api.script(fake.not_json())
        proc = subprocess.run([sys.executable, "-c", (
            "import urllib.request,sys;"
            f"r=urllib.request.Request('{api.base_url}/v1/messages',data=b'{{}}',"
            f"headers={{'x-api-key':'{api.api_key}','anthropic-version':'2023-06-01'}});"
            "print(urllib.request.urlopen(r).read().decode())")],
            capture_output=True, text=True, env={"NO_PROXY": "*", "PATH": "/usr/bin:/bin"})
    assert "<html>" in proc.stdout or "400" in proc.stderr
