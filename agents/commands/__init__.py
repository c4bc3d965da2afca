"""Subcommands of the ``dialog-gym`` command, one module each."""
