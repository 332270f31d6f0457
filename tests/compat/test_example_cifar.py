"""The PyTorch "Training a Classifier" (CIFAR-10) tutorial's calls with only the imports changed to convnet.

The data are a tiny learnable CIFAR-10 written by the test in the official binary format: class k
is a distinct colour plus noise, so a working pipeline reaches near-perfect accuracy and a broken
one (labels shuffled, channels mixed up, no learning) stays near chance (10%).
"""
import os

import numpy as np

import convnet as torch
import convnet.functional as F
import convnet.nn as nn
import convnet.optim as optim
from convnet.data import datasets as tv_datasets
from convnet.data import transforms
from convnet.data.utils import make_grid

COLOURS = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 0], [0, 0, 128]], np.float64)


def _write_tiny_cifar10(root, per_file=40):
    rng = np.random.default_rng(0)
    d = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(d)
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, per_file).astype(np.uint8)
        imgs = np.clip(COLOURS[labels][:, None, None, :] + rng.normal(0, 25, (per_file, 32, 32, 3)), 0, 255)
        planes = imgs.astype(np.uint8).transpose(0, 3, 1, 2).reshape(per_file, -1)  # label byte, then R, G, B planes
        with open(os.path.join(d, name), "wb") as f:
            f.write(np.concatenate([labels[:, None], planes], axis=1).tobytes())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def test_cifar10_tutorial(tmp_path):
    _write_tiny_cifar10(str(tmp_path))
    torch.manual_seed(0)
    transform = transforms.Compose(
        [transforms.ToTensor(),
         transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    batch_size = 4
    trainset = tv_datasets.CIFAR10(root=str(tmp_path), train=True, download=False, transform=transform)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size, shuffle=True, num_workers=2)
    testset = tv_datasets.CIFAR10(root=str(tmp_path), train=False, download=False, transform=transform)
    testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size, shuffle=False, num_workers=2)
    classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
    assert len(trainset) == 200 and len(testset) == 40

    dataiter = iter(trainloader)
    images, labels = next(dataiter)
    del dataiter
    assert tuple(images.shape) == (4, 3, 32, 32) and images.dtype == np.float32 and labels.dtype == np.int64
    assert -1 <= float(images.min()) and float(images.max()) <= 1
    grid = make_grid(images)
    assert tuple(grid.shape) == (3, 36, 4 * 34 + 2)
    img = grid / 2 + 0.5  # unnormalize, as the tutorial's imshow
    assert np.transpose(img.numpy(), (1, 2, 0)).shape == (36, 138, 3)
    names = ' '.join(f'{classes[labels[j]]:5s}' for j in range(batch_size))
    assert len(names.split()) == 4

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    losses = []
    for epoch in range(15):  # the tutorial's 2 epochs are 25,000 steps; 15 x 50 here
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        losses.append(running_loss / len(trainloader))
    assert losses[-1] < losses[0]

    dataiter = iter(testloader)
    images, labels = next(dataiter)
    outputs = net(images)
    values, predicted = torch.max(outputs, 1)
    assert tuple(values.shape) == (4,) and predicted.dtype == np.int64
    del dataiter

    def accuracy(model):
        correct = 0
        total = 0
        with torch.no_grad():
            for data in testloader:
                images, labels = data
                outputs = model(images)
                _, predicted = torch.max(outputs.data, 1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        return correct / total

    acc = accuracy(net)
    assert acc >= 0.6, f"accuracy {acc:.2f} on a learnable 10-class set (chance is 0.1); losses {losses}"

    PATH = str(tmp_path / "cifar_net.pth")
    torch.save(net.state_dict(), PATH)
    net2 = Net()
    net2.load_state_dict(torch.load(PATH, weights_only=True))
    assert accuracy(net2) == acc
