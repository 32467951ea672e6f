"""Notebook 00 (environment check) has no exercises: this module says so, for grading without the
instructor notebooks (a course notebook whose module exports no check owes nothing)."""

NOTEBOOK = "00_environment_check"  # the course id of the notebook these checks belong to
