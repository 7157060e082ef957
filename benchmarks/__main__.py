"""`python -m benchmarks [--only NAME ...] [--output FILE]` (what `make bench` runs)."""

import argparse
import os
import sys
from pathlib import Path

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from benchmarks.runner import SECTIONS, BenchmarkError, run_sections

    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", action="append", choices=SECTIONS, help="repeatable")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md",
    )
    args = parser.parse_args()
    try:
        run_sections(sys.stdout, output=args.output, only=args.only)
    except BenchmarkError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
