"""`make bench` / `python -m bench [--quick]`: run the suite, print the table, write bench/results.json."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
import warnings
from pathlib import Path

from bench import suite
from bench.common import use_uvloop

RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one round, no scale-out: under a minute")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write the figures (default {RESULTS})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")  # library deprecation chatter would bury the table
    use_uvloop()
    started = time.monotonic()
    results, failures = suite.run(args.quick, progress=lambda line: print(line, file=sys.stderr, flush=True))
    elapsed = time.monotonic() - started
    print(suite.table(results, failures))
    print(f"\n{'quick' if args.quick else 'full'} run in {elapsed:.0f}s on {platform.machine()}, "
          f"Python {platform.python_version()}; written to {args.out}")
    args.out.write_text(json.dumps({**{k: round(v, 4) for k, v in results.items()},
                                    "quick": args.quick, "seconds": round(elapsed, 1),
                                    "failed_sections": failures}, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
