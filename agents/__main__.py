"""``python -m agents`` runs the ``dialog-gym`` command (``agents.cli``), for when the script is not on PATH."""

import sys

from agents.cli import main

sys.exit(main())
