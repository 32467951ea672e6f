"""pytest plugin (``-p course_utils.tools.defer_for_pytest``, first in pyproject.toml's addopts): puts
:mod:`.deferred`'s stand-in in place in pytest's own processes (controller, workers, nested sessions)
before nbval's plugin imports nbformat. Never imported by a kernel."""
from .deferred import defer_iri_grammar

defer_iri_grammar()
