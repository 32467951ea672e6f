"""``python -m course_utils``: the command line (:mod:`course_utils.tools.cli`)."""
import sys

from .tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
