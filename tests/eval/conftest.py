"""The evaluation tests import the shared plugin-distribution writer from tests/."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
