"""``python -m webrefine``: the same command as ``webrefine``."""
import sys

from webrefine.pipeline.cli import console_main

sys.exit(console_main())
