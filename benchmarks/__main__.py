"""``python -m benchmarks [NAME ...]``: run the benchmark modules and print one table.

Each module ``benchmarks/bench_<name>.py`` is found by its name (:data:`MODULES`) and exposes
``run() -> list[Row]`` (see :mod:`benchmarks.common`; a module that prints its own table may
return plain dicts). To add a benchmark, write the module.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .common import Row, hermetic_git_env, human_seconds, print_table

# Every benchmarks/bench_<name>.py, the quick ones first; new modules need no registration.
_FIRST = ["load", "review", "propose", "feedback"]
_FOUND = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
MODULES = [m for m in _FIRST if m in _FOUND] + [m for m in _FOUND if m not in _FIRST]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(MODULES)})")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in MODULES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(MODULES)})")
    hermetic_git_env()
    rows: list[Row] = []
    others: list[tuple[str, dict[str, Any]]] = []
    timings: list[tuple[str, float]] = []
    failed: list[str] = []
    for name in args.names or MODULES:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:  # one broken benchmark must not hide the others' figures
            module = importlib.import_module(f"benchmarks.bench_{name}")
            results = module.run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        finally:
            timings.append((name, time.perf_counter() - start))
        for row in results:
            if isinstance(row, Row):
                rows.append(row)
            else:
                others.append((name, row))
    print()
    print_table(rows)
    for name, row in others:
        print(f"{name:<10} " + "  ".join(f"{k}={_show(v)}" for k, v in row.items()))
    print("\n" + "   ".join(f"{name}: {human_seconds(t)}" for name, t in timings))
    if failed:
        print(f"FAILED: {', '.join(failed)} (tracebacks above)")
    missed = [r for r in rows if r.ok is False]
    return 1 if missed or failed else 0


def _show(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
