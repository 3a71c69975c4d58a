"""``gitimprove demo``: the self-improvement loop on a fresh copy of ``sample_repo/``, narrated."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from .agentfile import render
from .errors import GitImproveError
from .init import init
from .repo import InstructionRepo

Echo = Callable[[str], None]


def find_sample_repo() -> Path:
    """``sample_repo/`` beside the package (a source checkout) or in the current folder."""
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        candidate = base / "sample_repo"
        if (candidate / "gitimprove.yaml").is_file():
            return candidate
    raise GitImproveError("sample_repo/ not found", hint="run the demo from a gitimprove checkout")


def run_demo(directory: Path | None, *, echo: Echo) -> Path:
    """Create the demo repository and walk through the loop; returns its path."""
    target = directory or Path(tempfile.mkdtemp(prefix="gitimprove-demo-"))
    if target.exists() and any(target.iterdir()):
        raise GitImproveError(f"{target} is not empty", hint="pass --dir with a new folder")
    echo("== 1. An instruction repository: agents as YAML files in git")
    result = init(target, template=find_sample_repo())
    echo(f"   created {result.path} from sample_repo/ (commit {str(result.commit)[:10]})")
    with InstructionRepo(target) as repo:
        for name in repo.agent_names():
            info = repo.describe(name)
            echo(f"   {name:<20} {info['version']:<4} sections: {', '.join(info['sections'])}"
                 f"  (protected: {', '.join(info['protected'])})")
        agent = repo.agent_names()[0]
        inst = repo.load(agent)
        echo(f"\n== 2. What the agent loads at run time: {agent} {inst.label} (blob {inst.version[:10]})")
        for line in render(inst.file).splitlines():
            echo(f"   | {line}")
    echo(f"\nDemo repository: {target}")
    echo(f"Explore it with plain git:  git -C {target} log --graph --all --oneline")
    return target
