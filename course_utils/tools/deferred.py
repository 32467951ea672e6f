"""Imports the course's processes defer until something uses them.

Every tool of the course reads notebooks with nbformat, which validates them with jsonschema.
Importing jsonschema imports rfc3987-syntax where it is installed (jupyter_server's dependencies
install it), and rfc3987-syntax builds its IRI grammar with lark as it is imported: about 0.9 s of
CPU in each process, for the "iri" string formats, which nbformat's schema never uses. The processes
that import course_utils before nbformat skip that cost: the commands (`check`, `release`, each
grading job) and pytest's (controller, workers, nested sessions). Others, such as nbgrader's own
commands, still pay it.

:func:`defer_iri_grammar` puts a stand-in in its place that imports the real module the first time
anything of it is used, so a schema that does check an IRI checks it exactly as before.
``import course_utils`` puts it in place; pytest loads it first (``-p course_utils.tools.deferred`` in
pyproject.toml), before nbval's plugin imports nbformat.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

IRI_MODULE = "rfc3987_syntax"


class _StandIn(types.ModuleType):
    """Looks like the module; any use imports the real one into its place and answers from it."""

    def __getattr__(self, name: str):
        return getattr(_real(), name)


def _real() -> types.ModuleType:
    if sys.modules.get(IRI_MODULE) is _STAND_IN:
        del sys.modules[IRI_MODULE]
    return importlib.import_module(IRI_MODULE)


def _is_valid_syntax(*args, **kwargs):
    """rfc3987_syntax.is_valid_syntax, the name jsonschema imports (``from ... import`` binds it at once)."""
    return _real().is_valid_syntax(*args, **kwargs)


_STAND_IN = _StandIn(IRI_MODULE, "Stand-in for rfc3987_syntax until it is first used (course_utils.tools.deferred).")
_STAND_IN.is_valid_syntax = _is_valid_syntax


def defer_iri_grammar() -> None:
    """Put the stand-in in place, unless the module is already imported or not installed (then
    ``import rfc3987_syntax`` keeps failing as before, and jsonschema goes without it)."""
    if IRI_MODULE in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(IRI_MODULE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        # the import system asks a package for __path__ before ``from ... import``: answer without loading
        _STAND_IN.__path__ = list(spec.submodule_search_locations or [])
        sys.modules[IRI_MODULE] = _STAND_IN
