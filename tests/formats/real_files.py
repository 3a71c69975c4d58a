"""Fetch the real agent files listed in real_files.tsv into a folder outside the repository.

The files belong to their authors (licences in the list) and are not committed; the tests in
test_real_files.py run over the folder when it exists. Each file is read from a git clone of
its repository at the listed commit: an existing mirror (``--mirrors DIR`` holding
``owner+name/repo`` git directories), else a blobless clone made under ``--cache``. The rows of
real_files_sweep.tsv, real_files_sweep3.tsv and real_files_sweep4.tsv are read from a mirror only (never cloned) and
skipped without one.

    python tests/formats/real_files.py --dest /work/data/agent-files [--mirrors /work/.mirror]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

LIST = Path(__file__).with_name("real_files.tsv")
SWEEP = Path(__file__).with_name("real_files_sweep.tsv")  # read from local mirrors only
SWEEP3 = Path(__file__).with_name("real_files_sweep3.tsv")  # likewise
SWEEP4 = Path(__file__).with_name("real_files_sweep4.tsv")  # likewise
DEFAULT_DEST = Path("/work/data/agent-files")


def _read(path: Path, mirror_only: bool) -> list[dict[str, str]]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [{**row, "mirror_only": "yes" if mirror_only else ""}
            for row in csv.DictReader(lines, delimiter="\t")]


def rows() -> list[dict[str, str]]:
    return _read(LIST, False) + _read(SWEEP, True) + _read(SWEEP3, True) + _read(SWEEP4, True)


def local_path(dest: Path, row: dict[str, str]) -> Path:
    return dest / row["repository"].replace("/", "+") / row["path"]


def _git_dir(repo: str, mirrors: Path | None, cache: Path) -> Path:
    if mirrors is not None and (mirrors / repo.replace("/", "+") / "repo").is_dir():
        return mirrors / repo.replace("/", "+") / "repo"
    target = cache / repo.replace("/", "+")
    if not target.exists():
        subprocess.run(["git", "clone", "--quiet", "--bare", "--filter=blob:none",
                        f"https://github.com/{repo}.git", str(target)], check=True)
    return target


def fetch(dest: Path, mirrors: Path | None, cache: Path) -> int:
    missing = 0
    for row in rows():
        out = local_path(dest, row)
        if out.exists():
            continue
        mirror = mirrors / row["repository"].replace("/", "+") / "repo" if mirrors else None
        if row["mirror_only"] and not (mirror and mirror.is_dir()):
            print(f"skipped (no local mirror): {row['repository']} {row['path']}", file=sys.stderr)
            continue
        git_dir = _git_dir(row["repository"], mirrors, cache)
        proc = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{row['commit']}:{row['path']}"],
                              capture_output=True)
        if proc.returncode != 0:
            print(f"missing: {row['repository']} {row['commit'][:10]} {row['path']}", file=sys.stderr)
            missing += 1
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(proc.stdout)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--mirrors", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "gitimprove-real-files")
    args = parser.parse_args()
    missing = fetch(args.dest, args.mirrors, args.cache)
    print(f"{sum(1 for row in rows() if local_path(args.dest, row).exists())} files in {args.dest}")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
