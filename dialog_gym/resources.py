"""Where the shipped configuration files live, installed or in a source checkout.

The repository keeps them in the top-level ``configs/`` folder; the wheel ships the same folder as
``dialog_gym/configs``. Nothing here reads files outside the package at run time.
"""

from __future__ import annotations

import difflib
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
    """The one resolver of config names and paths: a shipped config's name (``"standard"``), a path to a
    user's file (``"my_user.yml"``), or a path relative to the shipped configs (``"pydial/CamRestaurants/env.yml"``).

    An existing file wins; a relative path that does not exist is looked up under ``configs/<kind>/`` and
    ``configs/``. A folder raises ``error`` (for env configs naming its ``env.yml`` when it has one); a bare
    name that is not shipped raises ``error`` with the nearest shipped names of that kind.
    """
    candidate = Path(name_or_path)
    what = _KIND_NAMES.get(kind, kind)
    path_like = candidate.suffix in (".yml", ".yaml", ".csv", ".json") or candidate.parent != Path(".")
    if not path_like and config_path(kind, name_or_path + suffix).is_file():
        return config_path(kind, name_or_path + suffix)
    if candidate.is_dir():
        inner = candidate / "env.yml"
        hint = f"; did you mean {inner}?" if kind == "envs" and inner.is_file() else ""
        article = "an" if what[0] in "aeiou" else "a"
        raise error(f"{candidate}: is a directory, expected {article} {what} YAML file{hint}")
    if candidate.is_file():
        return candidate
    if path_like:
        if not candidate.is_absolute():
            for shipped in (configs_dir() / kind / candidate, configs_dir() / candidate):
                if shipped.is_file():
                    return shipped
        return candidate
    names = shipped_names(kind, suffix)
    near = difflib.get_close_matches(name_or_path, names, n=3)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    raise error(f"unknown {what} {name_or_path!r}: {hint}the shipped ones are {', '.join(names)}"
                f" (or give a path to a {what} YAML file)")


def shipped_names(kind: str, suffix: str = ".yml") -> list[str]:
    """Names of the shipped configs of one kind (``"users"`` -> ``["standard", "unfriendly"]``)."""
    folder = configs_dir() / kind
    return sorted(p.stem for p in folder.glob("*" + suffix))
