"""``gitimprove report``: a self-contained HTML page per agent (see gitimprove/report.py)."""

from __future__ import annotations

from pathlib import Path

import click

from gitimprove.cli.context import Context, echo, pass_ctx
from gitimprove.cli.output import for_people
from gitimprove.errors import GitImproveError


@click.command("report")
@click.argument("agent", required=False)
@click.option("-o", "--output", "output", default=None, metavar="FILE",
              help="Where to write the page (- for standard output; default: "
                   ".gitimprove/report.html in the repository, which git ignores).")
@pass_ctx
@for_people
def report_cmd(ctx: Context, agent: str | None, output: str | None) -> None:
    """Write one HTML page: versions, negative rate per version, patterns, open proposals.

    Without AGENT, every agent on the main branch. The page needs no network."""
    import contextlib
    import os
    import tempfile

    from gitimprove.report import report_html

    repo = ctx.repo
    if agent is not None:
        repo.agent_at(agent, repo.main_tip())  # an unknown agent: "did you mean"
    page = report_html(repo, [agent] if agent else None)
    if output == "-":
        echo(page, nl=False)
        return
    if output is None:  # not in the checkout, where it would be one more untracked file
        from gitimprove.feedback.store import local_dir

        output = str(local_dir(repo.git.work_tree or Path.cwd()) / "report.html")
    target = Path(output)
    if target.is_dir():
        raise GitImproveError(f"{target} is a folder", hint="pass a file name with -o")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.resolve().parent, prefix=".report-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # like any file the user writes, not mkstemp's 0600
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise GitImproveError(f"cannot write {target}: {exc.strerror or exc}",
                              hint="pick a folder you may write to") from None
    echo(f"wrote {target} ({len(page.encode()) // 1024 + 1} KiB); open it in a browser")


COMMANDS: list[click.Command] = [report_cmd]
