"""`python -m genreg` for subprocess tests, with the test data sets registered first."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import genreg  # noqa: E402
import train_toys  # noqa: E402
from genreg.cli import main  # noqa: E402

genreg.get_plugin_manager().register(train_toys, name=train_toys.PLUGIN_NAME)
sys.exit(main(sys.argv[1:]))
