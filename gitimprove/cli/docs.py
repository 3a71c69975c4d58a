"""``gitimprove docs [TOPIC]``: the documentation that ships with the package."""

from __future__ import annotations

import click

from gitimprove.cli.context import echo
from gitimprove.cli.output import for_people, width


@click.command("docs")
@click.argument("topic", required=False)
@for_people
def docs_cmd(topic: str | None) -> None:
    """Read the documentation: list the topics, or print one (paged on a terminal)."""
    from gitimprove import manual

    if topic is None:
        pages = manual.topics()
        wide = max(len(t.name) for t in pages)
        echo("Topics (gitimprove docs TOPIC):")
        for t in pages:
            echo(f"  {t.name:<{wide}}  {t.title}")
        return
    page = manual.read(topic).rstrip("\n")
    columns = width()  # a terminal's; a pipe gets the file as written
    # NOTE: echo shows any control character of the file escaped, terminal or not
    echo(page if columns is None else manual.reflow(page, columns))


COMMANDS: list[click.Command] = [docs_cmd]
