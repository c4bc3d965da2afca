"""Where the shipped configuration files live, installed or in a source checkout.

The repository keeps them in the top-level ``configs/`` folder; the wheel ships the same folder as
``dialog_gym/configs``. Nothing here reads files outside the package at run time.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def configs_dir() -> Path:
    """The folder of shipped configs: ``dialog_gym/configs`` when installed, else ``<repo>/configs``."""
    installed = _PACKAGE_DIR / "configs"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "configs"


def config_path(*parts: str) -> Path:
    """Path of a shipped config file, e.g. ``config_path("domains", "restaurant.yml")``."""
    return configs_dir().joinpath(*parts)


def resolve_named(kind: str, name_or_path: str, suffix: str = ".yml") -> Path:
    """A name of a shipped config (``"standard"``) or a path to a user's file (``"my_user.yml"``)."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yml", ".yaml", ".csv", ".json") or candidate.parent != Path("."):
        return candidate
    return config_path(kind, name_or_path + suffix)


def shipped_names(kind: str, suffix: str = ".yml") -> list[str]:
    """Names of the shipped configs of one kind (``"users"`` -> ``["standard", "unfriendly"]``)."""
    folder = configs_dir() / kind
    return sorted(p.stem for p in folder.glob("*" + suffix))
