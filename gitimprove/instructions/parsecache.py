"""What the YAML of agent files and policies gave, kept by blob id in the git directory.

Every command reads the policy and the agent files it shows, and importing the YAML parser is
a large part of a command's start-up. A blob never changes, so once a file validated, its
values are kept in ``<git dir>/gitimprove-state/parsed-v1/<kind>-<blob>.json`` and read
from there after.
What is read back is checked again in full (schema, rules, the characters of the raw text):
only the parsing is saved; an entry that does not check, or cannot be read, is ignored and the
text parsed again. Like the version index (:mod:`.versions`), the cache trusts the git
directory it lives in; a read-only repository simply goes without it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitimprove.git import write_json

MISSING: Any = object()


class ParseCache:
    """The values of parsed files, one small JSON file per blob."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, kind: str, blob: str) -> Any:
        """The values kept for ``blob`` read as a ``kind`` of file, or :data:`MISSING`."""
        try:
            with open(self.folder / f"{kind}-{blob}.json", "rb") as fh:
                return json.loads(fh.read())
        except (OSError, ValueError):
            return MISSING

    def put(self, kind: str, blob: str, values: Any) -> None:
        write_json(self.folder / f"{kind}-{blob}.json", values)
