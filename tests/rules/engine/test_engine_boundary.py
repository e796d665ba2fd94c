"""The engine is a plain library: importing it must not import Django."""

import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def test_engine_imports_no_django():
    code = (
        "import sys, rules.engine, rules.engine.converters; "
        "assert not any(m.startswith('django') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPOSITORY_ROOT)
