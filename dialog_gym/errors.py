"""The package's exception types: every error a user can cause is one of these."""

from __future__ import annotations


class DialogGymError(Exception):
    """Base class of every error dialog_gym raises on bad input."""


class DomainError(DialogGymError):
    """A domain file is missing, malformed or inconsistent (the message names the file and key)."""


class ConfigError(DialogGymError):
    """A YAML configuration (environment, user profile, hyperparameters) is invalid."""


class StoryError(DialogGymError):
    """A Rasa markdown story file is malformed (the message names the file and the line)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class KnowledgeBaseError(ConfigError):
    """The task's table cannot be read or does not fit the domain."""


class PersistenceError(DialogGymError):
    """A saved model, log or dataset cannot be read or written."""


class MissingExtra(DialogGymError):
    """A command or feature needs an optional extra that is not installed (the CLI exits with status 1)."""


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'dialog-gym[{extra}]'"


def missing_message(what: str, extra: str, module: str) -> str:
    """The one line saying that ``what`` needs ``extra`` (``module`` is not installed)."""
    return f"{what} needs the {extra} extra ({module} is not installed): {install_hint(extra)}"
