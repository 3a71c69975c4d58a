"""The offline proposer writes no English rule into a file written in another language."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.guards.conftest import gi, ok

RUSSIAN = """# Помощник по счетам

Ты отвечаешь на вопросы клиентов о счетах и возвратах.

## Стиль
- Отвечай коротко и по делу.
- Используй валюту клиента.
"""
SPANISH = """# Asistente de facturas

Respondes a las preguntas de los clientes sobre facturas y reembolsos.

## Estilo
- Usa la moneda del cliente y un tono amable.
- No prometas nada que no puedas cumplir.
"""
# Files whose function words are told apart by their accents alone: "où", "là", "très",
# "dónde", "está", "también" (without them, "on", "a" and "no" made them read as English)
FRENCH = """# Suivi

On répond à tout, là où on peut, très vite.

## Style
- Sois bref, même si on insiste.
- Dis où en est le colis.
"""
SPANISH_ACCENTS = """# Pedidos

No respondas a nada que no sepas.

## Estilo
- Indica dónde está el pedido y cuándo llega.
- Sé breve también.
"""
ENGLISH = """# Billing assistant

You answer questions about invoices and refunds.

## Style
- Use the customer's currency.
- Never promise what you cannot keep.
"""
COMPLAINTS = ["the answer was way too long", "too long, three paragraphs for a yes or no",
              "way too long and rambling again", "far too long, get to the point",
              "too long, I only wanted the total"]


def _repo(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "billing").mkdir()
    (repo / "billing" / "AGENTS.md").write_text(text, encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-qm", "agent"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    ok(gi(repo, "init"))
    lines = [json.dumps({"agent": "billing", "run_id": f"r{n}", "rating": "down", "reason": t,
                         "user_id": f"u{n}"}) for n, t in enumerate(COMPLAINTS)]
    (tmp_path / "fb.jsonl").write_text("\n".join(lines) + "\n")
    ok(gi(repo, "feedback", "import", str(tmp_path / "fb.jsonl")))
    return repo


@pytest.mark.parametrize(("text", "written"), [(RUSSIAN, "in Cyrillic script"),
                                                (SPANISH, "in another language"),
                                                (FRENCH, "in another language"),
                                                (SPANISH_ACCENTS, "in another language")],
                         ids=["russian", "spanish", "french-accents", "spanish-accents"])
def test_no_english_rule_goes_into_a_file_in_another_language(
        tmp_path: Path, text: str, written: str) -> None:
    repo = _repo(tmp_path, text)
    proc = gi(repo, "propose", "billing", "--dry-run")
    said = proc.stdout + proc.stderr
    assert "Traceback" not in said
    assert f"the file is written {written}" in said, said
    assert "ANTHROPIC_API_KEY" in said


def test_an_english_file_still_gets_the_rule(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ENGLISH)
    proc = ok(gi(repo, "propose", "billing", "--dry-run"))
    assert "length" in proc.stdout.lower() and "written in" not in proc.stdout
