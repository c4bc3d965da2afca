"""``python -m dialog_gym`` runs the ``dialog-gym`` command (defined in ``agents.cli``, the top floor).

This shim is the only place the ``dialog_gym`` folder mentions ``agents``: it is a program entry
point, never imported by the library.
"""

import sys

from agents.cli import main

sys.exit(main())
