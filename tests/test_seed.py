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


def test_torch_imported_after_seeding_is_seeded_and_not_imported_before():
    """Notebooks 01-03 need no torch: seeding does not import it, and a later import is seeded alike."""
    later = _fresh_python(
        "import sys\n"
        "from course_utils import set_all_seeds\n"
        "set_all_seeds(11)\n"
        "print('torch' in sys.modules)\n"
        "import torch.nn\n"  # a submodule first: its parent is imported, and seeded, on the way
        "print(torch.initial_seed(), torch.rand(3).tolist())\n"
        "set_all_seeds(11)\n"  # seeding again, torch loaded: seeded directly, no hook left behind
        "print(torch.rand(3).tolist(), sum(type(f).__name__ == '_SeedTorchOnImport' for f in sys.meta_path))\n")
    before = _fresh_python("import torch\nfrom course_utils import set_all_seeds\nset_all_seeds(11)\n"
                           "print(torch.initial_seed(), torch.rand(3).tolist())")
    flag, seeded_later, again = later.splitlines()
    assert flag == "False"
    assert seeded_later == before
    assert again == seeded_later.split(" ", 1)[1] + " 0"


def test_seeding_twice_before_torch_keeps_only_the_last_seed():
    out = _fresh_python("from course_utils import set_all_seeds\nset_all_seeds(1)\nset_all_seeds(2)\n"
                        "import torch\nprint(torch.initial_seed())")
    assert out == "2"
