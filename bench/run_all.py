"""Run every benchmark in bench/ and print their Markdown tables (copy them into bench/RESULTS.md).

    make bench
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py")
    for script in scripts:
        print(f"\n### {script.name}\n", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=HERE)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
