"""``python -m gitimprove`` (what the hooks run) and the ``gitimprove`` command."""

from __future__ import annotations

import gc
from typing import NoReturn


def entry() -> NoReturn:
    """Run the command line as this process."""
    # NOTE: no garbage collection while the modules load: they make no garbage, and the
    # collector would walk their objects again and again (~5 ms of a command). Frozen after
    # that, so the command's own collections do not walk them either.
    gc.disable()
    from gitimprove.cli import main

    gc.freeze()
    gc.enable()
    main()


if __name__ == "__main__":
    entry()
