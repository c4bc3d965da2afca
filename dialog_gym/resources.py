"""Where the shipped configuration files live, installed or in a source checkout.

The repository keeps them in the top-level ``configs/`` folder; the wheel ships the same folder as
``dialog_gym/configs``. Nothing here reads files outside the package at run time.
"""

from __future__ import annotations

from pathlib import Path

from dialog_gym.errors import ConfigError

#: the shipped env config used when none is named (``configs/envs/<DEFAULT_TASK>.yml``)
DEFAULT_TASK = "restaurant"
_KIND_NAMES = {"envs": "env config", "domains": "domain", "users": "user profile", "roles": "roles preset"}

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


def resolve_named(kind: str, name_or_path: str, suffix: str = ".yml",
                  error: type[Exception] = ConfigError) -> Path:
    """A name of a shipped config (``"standard"``) or a path to a user's file (``"my_user.yml"``).

    A bare name that is not shipped raises ``error`` listing the shipped names of that kind.
    """
    candidate = Path(name_or_path)
    if candidate.suffix in (".yml", ".yaml", ".csv", ".json") or candidate.parent != Path("."):
        return candidate
    shipped = config_path(kind, name_or_path + suffix)
    if not shipped.is_file() and not candidate.is_file():
        what = _KIND_NAMES.get(kind, kind)
        raise error(f"unknown {what} {name_or_path!r}: the shipped ones are {', '.join(shipped_names(kind, suffix))}"
                    f" (or give a path to a {what} YAML file)")
    return shipped if shipped.is_file() else candidate


def shipped_names(kind: str, suffix: str = ".yml") -> list[str]:
    """Names of the shipped configs of one kind (``"users"`` -> ``["standard", "unfriendly"]``)."""
    folder = configs_dir() / kind
    return sorted(p.stem for p in folder.glob("*" + suffix))
