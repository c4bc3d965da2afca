"""Sphinx configuration: furo theme, MyST Markdown pages, API reference from the docstrings.

Build (warnings are errors, as in ``.ci/run``)::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_scripts"))

import gen_pages  # noqa: E402  (docs/_scripts/gen_pages.py: tables, transcripts and docstrings from the package)

import dialog_gym  # noqa: E402

gen_pages.main()

project = "dialog_gym"
author = "the dialog_gym authors"
copyright = "2026, the dialog_gym authors"
release = dialog_gym.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "_scripts", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"dialog_gym {release}"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
#: the optional libraries of the extras: mocked when absent, so that `pip install -e '.[docs]'` builds the site
OPTIONAL_LIBRARIES = ["torch", "stable_baselines3", "sb3_contrib", "tqdm", "matplotlib", "ray", "optuna",
                      "starlette", "uvicorn", "minari", "tensorboard"]
autodoc_mock_imports = [name for name in OPTIONAL_LIBRARIES if importlib.util.find_spec(name) is None]
autodoc_inherit_docstrings = False  # Gymnasium's own docstrings (step, reset) are written for its own site
autodoc_default_options["ignore-module-all"] = True  # each object once, in the module that defines it

#: classes whose docstring is Markdown (Gymnasium's toy_text style) -> the page that renders it in full
MARKDOWN_DOCSTRINGS = {
    "dialog_gym.envs.dialogue_env.DialogueEnv": "/envs/restaurant",
    "dialog_gym.envs.summary.SummaryActEnv": "/envs/summary",
    "dialog_gym.envs.pydial_env.PyDialEnv": "/envs/pydial",
}


def _markdown_docstring(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    """An environment's Markdown docstring is rendered on its family's page; here only its summary line."""
    page = MARKDOWN_DOCSTRINGS.get(name)
    if page is not None and what == "class":
        summary = lines[: lines.index("")] if "" in lines else lines[:1]
        lines[:] = [*summary, "", f"Its full description (spaces, rewards, masks, episode end): :doc:`{page}`."]


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("autodoc-process-docstring", _markdown_docstring)
