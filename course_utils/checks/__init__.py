"""Self-checks for the exercises: run a student's code against a reference, explain any miss.

``from course_utils.checks import check_...`` gives every notebook's checks; :data:`RESULTS` maps
each exercise number to its latest :class:`CheckResult` (the grader reads it). The machinery is in
:mod:`.core`, the checks of notebook NN in ``nbNN``.
"""
from .core import (FAILED, NOT_ATTEMPTED, PASSED, RESULTS, CheckResult, ExerciseFailed, Miss, ShortcutUsed,
                   compare, exercise_check, without)
from .nb01 import check_bias_variance, check_least_squares_gd
from .nb02 import check_boundary_line, check_mlp_forward
from .nb03 import check_outer_shell_fraction, check_relative_contrast
from .nb04 import check_conv2d_forward, check_layer_backward, check_maxpool_backward, check_rmsprop
from .nb05 import check_deeper_net, check_evaluate
from .nb06 import check_grad_norm, check_per_class_accuracy

__all__ = ["FAILED", "NOT_ATTEMPTED", "PASSED", "RESULTS", "CheckResult", "ExerciseFailed", "Miss", "ShortcutUsed",
           "compare", "exercise_check", "without",
           "check_bias_variance", "check_least_squares_gd", "check_boundary_line", "check_mlp_forward",
           "check_outer_shell_fraction", "check_relative_contrast",
           "check_conv2d_forward", "check_layer_backward", "check_maxpool_backward", "check_rmsprop",
           "check_deeper_net", "check_evaluate", "check_grad_norm", "check_per_class_accuracy"]
