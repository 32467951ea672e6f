"""Exercises expected of each course notebook, for grading where no instructor notebook is at hand.

Generated from the instructor notebooks by ``python -m course_utils.grading``; a test keeps it in step.
"""

EXPECTED: dict[str, list[str]] = {
    '01_learning_definitions.ipynb': ['1.1', '1.2'],
    '02_two_moons_mlp.ipynb': ['2.1', '2.2'],
    '03_curse_of_dimensionality.ipynb': ['3.1', '3.2'],
    '04_from_scratch_layers.ipynb': ['4.1', '4.2', '4.3', '4.4'],
    '05_fashion_mnist_minimal.ipynb': ['5.2', '5.1'],
    '06_fashion_mnist_tensorboard.ipynb': ['6.1', '6.2'],
}
