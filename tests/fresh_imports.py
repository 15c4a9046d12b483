"""What a fresh interpreter has imported after running some code (for tests that keep a
costly import out of a path)."""
from __future__ import annotations

import subprocess
import sys


def modules_after(code: str) -> set[str]:
    """The names in ``sys.modules`` once ``code`` ran in a new interpreter."""
    probe = code + "\nimport sys as _s; print('\\n'.join(_s.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(out.split())
