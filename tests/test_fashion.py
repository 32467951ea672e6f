"""course_utils.fashion: one indexing operation per batch, the same batches as the lecture's DataLoader."""
import torch
from torch.utils.data import DataLoader, TensorDataset, random_split

from course_utils.fashion import CONFIG, batch_loader, fashion_splits
from course_utils.seed import seeded_generator


def small_dataset(n=253):
    return TensorDataset(torch.arange(n, dtype=torch.float32).view(n, 1, 1).expand(n, 28, 28).clone(),
                         torch.arange(n) % 10)


def batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))


def test_shuffled_batches_equal_the_dataloaders_with_a_shared_generator():
    data = small_dataset()
    lecture = batches(DataLoader(data, batch_size=100, shuffle=True, generator=seeded_generator(7)))
    ours = batches(batch_loader(data, 100, shuffle=True, generator=seeded_generator(7)))
    assert same(lecture, ours)
    assert [len(y) for _, y in ours] == [100, 100, 53], "the last batch is the remainder"


def test_shuffled_batches_equal_the_dataloaders_with_the_global_random_state():
    data = small_dataset()
    torch.manual_seed(3)
    lecture = batches(DataLoader(data, batch_size=64, shuffle=True))
    torch.manual_seed(3)
    ours = batches(batch_loader(data, 64, shuffle=True))
    assert same(lecture, ours)
    torch.manual_seed(4)
    assert not same(lecture, batches(batch_loader(data, 64, shuffle=True))), "another seed, another order"


def test_unshuffled_batches_are_in_order():
    data = small_dataset()
    assert same(batches(DataLoader(data, batch_size=50)), batches(batch_loader(data, 50)))


def test_a_batch_is_one_indexing_operation():
    data = small_dataset()
    calls = []
    original = TensorDataset.__getitem__

    def counting(self, index):
        calls.append(index)
        return original(self, index)

    TensorDataset.__getitem__ = counting
    try:
        n_batches = len(batches(batch_loader(data, 100, shuffle=True, generator=seeded_generator(0))))
    finally:
        TensorDataset.__getitem__ = original
    assert len(calls) == n_batches == 3 and all(isinstance(i, list) for i in calls)


def test_splits_match_random_split_of_the_training_set():
    from course_utils.data import fashion_mnist_dataset
    train, val, test = fashion_splits()
    assert (len(train), len(val), len(test)) == (60_000 - CONFIG["validation"], CONFIG["validation"], 10_000)
    full = fashion_mnist_dataset(train=True)
    _, val_part = random_split(full, [len(full) - CONFIG["validation"], CONFIG["validation"]],
                               generator=seeded_generator(CONFIG["seed"]))
    assert torch.equal(val.tensors[1], full.tensors[1][val_part.indices])
    assert train.tensors[0].dtype == torch.float32 and float(train.tensors[0].max()) <= 1.0
