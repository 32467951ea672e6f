"""pytest configuration shared by the unit tests and nbval."""


def pytest_collectstart(collector):
    # nbval compares every stream; stderr carries progress bars and library warnings whose text
    # varies between runs and versions, so only stdout and rich outputs are compared.
    if str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare += ("stderr",)
