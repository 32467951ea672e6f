"""The tool side: what an instructor runs. A student's kernel never imports this package.

- :mod:`.course`: the course model, read from the notebooks' own cell metadata;
- :mod:`.transforms`, :mod:`.release`, :mod:`.nbgrader_export`: the student release and the
  nbgrader course, one pipeline of small notebook transforms;
- :mod:`.injected`: the code the tools write into notebooks (first lines, the grader's cells);
- :mod:`.execute`: the one executor (nbclient); :mod:`.grading`, :mod:`.gradeclass`: one grading
  path, the verdict given in the grader's own process; :mod:`.sandbox`: bubblewrap;
- :mod:`.cli`: ``python -m course_utils``.

Its Jupyter dependencies come with the ``tools`` extra (``pip install 'course-utils[tools]'``).
"""
