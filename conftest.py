"""pytest configuration shared by the unit tests and nbval."""


def pytest_collectstart(collector):
    # nbval compares every stream; stderr carries progress bars and library warnings whose text
    # varies between runs and versions, so only stdout and rich outputs are compared.
    if str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare += ("stderr",)


def pytest_collection_modifyitems(config, items):
    """Markers for the quick tier (`make unit` deselects them): nbval's notebook cells start a
    kernel (`notebook`); tests/browser drives Chromium (`browser`)."""
    import pytest
    for item in items:
        path = str(getattr(item, "path", ""))
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
        elif "/tests/browser/" in path.replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
