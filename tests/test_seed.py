"""course_utils.seed: seeded runs repeat exactly, unseeded ones do not."""
import random

import numpy as np
import pytest
import torch

from course_utils import seeded_generator, set_all_seeds
from course_utils.seed import seed_worker


def draws():
    return (random.random(), float(np.random.rand()), torch.rand(3).tolist())


def test_same_seed_same_draws():
    set_all_seeds(42)
    a = draws()
    set_all_seeds(42)
    assert draws() == a


def test_unseeded_and_other_seed_differ():
    set_all_seeds(42)
    a = draws()
    b = draws()  # the generators moved on
    assert a != b
    set_all_seeds(7)
    assert draws() != a


def test_each_generator_is_seeded():
    set_all_seeds(3)
    a = draws()
    set_all_seeds(3)
    random.random()  # advancing one generator changes only that one
    b = draws()
    assert b[0] != a[0]  # random's second value, not its first
    assert b[1:] == a[1:]  # numpy and torch untouched


def test_deterministic_switch():
    try:
        set_all_seeds(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "42"])
def test_bad_seed_is_refused(bad):
    with pytest.raises(ValueError, match="seed must be an int"):
        set_all_seeds(bad)


def test_seed_worker_derives_numpy_seed_from_torch():
    torch.manual_seed(123)
    seed_worker(0)
    a = np.random.rand()
    torch.manual_seed(123)
    seed_worker(0)
    assert np.random.rand() == a


def test_dataloader_shuffle_repeats_with_seeded_generator():
    ds = torch.utils.data.TensorDataset(torch.arange(20))
    order = lambda: [int(b[0][0]) for b in torch.utils.data.DataLoader(ds, batch_size=1, shuffle=True,
                                                                       generator=seeded_generator(5))]
    assert order() == order() and order() != list(range(20))


def _fresh_python(code: str) -> str:
    import subprocess
    import sys
    from pathlib import Path
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_seeding_imports_no_torch_and_installs_no_hook_and_seeds_torch_once_imported():
    """Notebooks 01-03 need no torch: seeding does not import it and leaves nothing behind (no import
    hook); a notebook that imports torch first gets it seeded, exactly as torch.manual_seed would."""
    out = _fresh_python(
        "import sys\n"
        "finders = list(sys.meta_path)\n"
        "from course_utils import set_all_seeds\n"
        "set_all_seeds(11)\n"
        "print('torch' in sys.modules, sys.meta_path == finders)\n"
        "import torch\n"
        "set_all_seeds(11)\n"
        "print(torch.initial_seed(), torch.rand(3).tolist())\n")
    direct = _fresh_python("import torch\ntorch.manual_seed(11)\nprint(torch.initial_seed(), torch.rand(3).tolist())")
    flags, seeded = out.splitlines()
    assert flags == "False True"
    assert seeded == direct
