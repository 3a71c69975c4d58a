"""Section ids of headings in accented Latin keep their letters ("Réponses" is `reponses`,
not `r-ponses`), and a policy written with an id as it was made before still protects the
section: approve and the hooks refuse a proposal that changes it, and `agents` says which id
to write."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pytest

from gitimprove.instructions.formats.prose import slug
from gitimprove.text import marks_off_latin
from tests.review.conftest import make_proposal, run

from .conftest import gi, ok, refused, tip
from .test_nested_protection import adopt as adopt_file

GUIDE = """# Assistant de recherche

Tu aides les étudiants à trouver des sources fiables.

## Réponses
- Réponds en français, avec des phrases courtes.

## Sécurité
- Refuse poliment les demandes dangereuses.
"""


@pytest.mark.parametrize(("title", "expected"), [
    ("Réponses", "reponses"), ("Sécurité", "securite"), ("Straße und Œuvre", "strasse-und-oeuvre"),
    ("Ça va — très bien", "ca-va-tres-bien"), ("Øresund", "oresund"), ("安全規範", "安全規範"),
    ("Правила", "правила"), ("3. Принцип", "3-принцип"), ("Tone of voice", "tone-of-voice"),
])
def test_accented_latin_headings_keep_their_letters(title: str, expected: str) -> None:
    assert slug(title) == expected


def _marks_off_one_by_one(decomposed: str) -> str:
    """What :func:`marks_off_latin` does, a character at a time."""
    out, latin = [], False
    for c in decomposed:
        if not unicodedata.combining(c):
            latin = c <= "\u024f"
        elif latin:
            continue
        out.append(c)
    return "".join(out)


@pytest.mark.parametrize("text", [
    "việt", "Réponse trop longue", "คำตอบยาวเกินไป", "जवाब बहुत लंबा है", "התשובה ארוכה מדי",
    "wordy" + "\u0301" * 50, "\u0301 a mark first", "9\u0301 after a digit", "a\u05b7b", "",
])
def test_marks_come_off_latin_letters_only(text: str) -> None:
    decomposed = unicodedata.normalize("NFKD", text)
    assert marks_off_latin(decomposed) == _marks_off_one_by_one(decomposed)


def test_marks_come_off_latin_letters_only_at_random() -> None:
    rng = random.Random(7)  # strings of letters and marks of several scripts
    pool = [chr(c) for block in ((0x20, 0x370), (0x591, 0x5c8), (0xe00, 0xe5c), (0x900, 0x980),
                                 (0x300, 0x370)) for c in range(*block)]
    for _ in range(300):
        mixed = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert marks_off_latin(mixed) == _marks_off_one_by_one(mixed)


def adopt(tmp_path: Path, protected: str) -> Path:
    """The guide adopted in place, the hooks installed, ``protected`` in the policy."""
    repo, _ = adopt_file(tmp_path, GUIDE)
    policy = repo / "gitimprove.yaml"
    text = policy.read_text()
    start = text.index("protected_sections:")
    end = text.index("\n", start)
    policy.write_text(text[:start] + f"protected_sections:\n  - {protected}" + text[end:])
    run(repo, "commit", "-q", "-am", "protect the safety section")
    return repo


@pytest.mark.parametrize("protected", ["securite", "s-curit"])
def test_a_former_id_still_protects(tmp_path: Path, protected: str) -> None:
    repo = adopt(tmp_path, protected)
    listed = ok(gi(repo, "agents", "--json"))
    (agent,) = json.loads(listed.stdout)["agents"]
    assert agent["sections"] == ["assistant-de-recherche", "reponses", "securite"]
    assert agent["protected"] == ["securite"]
    told = ok(gi(repo, "agents")).stderr
    if protected == "s-curit":
        assert ("names the section 'securite' by its former id 's-curit': it is protected all "
                "the same; write 'securite' instead of 's-curit'") in told
        assert "protects no section" not in told
    else:
        assert told == ""
    make_proposal(repo, "looser", lambda t: t.replace("Refuse poliment", "Accepte"),
                  agent="agents", path="AGENTS.md")
    before = tip(repo)
    assert "protected section 'securite'" in refused(gi(repo, "approve", "looser"))
    proc = run(repo, "merge", "--no-ff", "-m", "merge", "improve/agents/looser", check=False)
    assert proc.returncode != 0 and "protected section" in proc.stderr, proc.stderr
    assert tip(repo) == before


@pytest.mark.parametrize("protected", ["securite", "s-curit"])
def test_a_new_section_under_a_former_protected_id_is_refused(tmp_path: Path,
                                                              protected: str) -> None:
    """A model that adds the section the policy protects, where the file has none yet, is
    refused whichever id the policy names it by."""
    repo = adopt(tmp_path, protected)
    (repo / "AGENTS.md").write_text(GUIDE[:GUIDE.index("## Sécurité")])
    run(repo, "commit", "-q", "-am", "no safety section yet")
    make_proposal(repo, "safety", lambda t: t + "\n## Sécurité\n- Accepte tout.\n",
                  agent="agents", path="AGENTS.md")
    before = tip(repo)
    said = refused(gi(repo, "approve", "safety"))
    assert "adds a section 'securite' whose id the policy protects" in said, said
    assert tip(repo) == before
