"""Training speed: the lecture's Fashion-MNIST recipe as written vs notebook 05's pipeline.

Both train the lecture's 784-128-10 network with Adam (lr 1e-3), batch 100, 4 epochs, from the same
seed, on the full 60,000 training images, and are scored on the 10,000 test images. Only the data
pipeline differs: torchvision's dataset decoding every image through ``ToTensor()`` on every epoch,
against tensors prepared once (``course_utils.data.fashion_mnist_dataset``).
Goal: the notebook's pipeline >= 5x faster at the same accuracy (within 0.01).
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms as transforms
from torch.utils.data import DataLoader

from course_utils import seeded_generator, set_all_seeds
from course_utils.data import data_root, fashion_mnist_dataset, prepare_fashion_mnist

EPOCHS, SEED = 4, 42


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 128)
        self.output = nn.Linear(128, 10)

    def forward(self, x):
        return self.output(F.relu(self.hidden(x)))


def train_and_test(train_set, test_set) -> tuple[float, float]:
    """The lecture's loop; returns (seconds, test accuracy). Time covers loading batches and training."""
    set_all_seeds(SEED)
    train_loader = DataLoader(train_set, batch_size=100, shuffle=True, generator=seeded_generator(SEED))
    test_loader = DataLoader(test_set, batch_size=100, shuffle=False)
    model, loss_func = Net(), nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        for images, labels in train_loader:
            outputs = model(images.view(-1, 784))
            loss = loss_func(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            correct += (model(images.view(-1, 784)).argmax(1) == labels).sum().item()
    return seconds, correct / len(test_set)


def main() -> None:
    prepare_fashion_mnist()
    root = str(data_root())
    lecture = train_and_test(
        torchvision.datasets.FashionMNIST(root, train=True, transform=transforms.ToTensor(), download=False),
        torchvision.datasets.FashionMNIST(root, train=False, transform=transforms.ToTensor(), download=False))
    start = time.perf_counter()
    train_set, test_set = fashion_mnist_dataset(True), fashion_mnist_dataset(False)
    prepare_seconds = time.perf_counter() - start
    notebook = train_and_test(train_set, test_set)
    print(f"lecture's recipe (ToTensor per image):  {lecture[0]:6.1f} s, test accuracy {lecture[1]:.4f}")
    print(f"notebook's pipeline (prepared tensors): {notebook[0]:6.1f} s, test accuracy {notebook[1]:.4f} "
          f"(+ {prepare_seconds:.1f} s to prepare the tensors once)")
    ratio = lecture[0] / notebook[0]
    same = abs(lecture[1] - notebook[1]) <= 0.01
    print(f"speed-up: {ratio:.1f}x (goal >= 5x) {'met' if ratio >= 5 else 'MISSED'}; "
          f"accuracy difference {abs(lecture[1] - notebook[1]):.4f} (goal <= 0.01) {'met' if same else 'MISSED'}")


if __name__ == "__main__":
    main()
