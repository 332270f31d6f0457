"""pytorch/examples ``mnist/main.py``'s sequence of calls with only the imports changed to convnet.

Runs 1 epoch on 2,000 training / 500 test images of the real MNIST ($CONVNET_DATA; CI sets it to
../shared/datasets) and checks the test accuracy, then the save / load round trip.
"""
import os

import pytest

import convnet as torch
import convnet.functional as F
import convnet.nn as nn
import convnet.optim as optim
from convnet.data import datasets, transforms
from convnet.optim.lr_scheduler import StepLR

DATA = os.environ.get("CONVNET_DATA")


def _have_mnist():
    return DATA and any(os.path.isfile(os.path.join(DATA, d, "t10k-images-idx3-ubyte.gz")) for d in ("mnist", ""))


pytestmark = pytest.mark.skipif(not _have_mnist(), reason="MNIST is not in $CONVNET_DATA (CI sets "
                                                           "CONVNET_DATA=../shared/datasets)")


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def train(model, device, train_loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 10 == 0:
            log.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def run_test(model, device, test_loader):  # the example's test(); renamed so pytest does not collect it
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct / len(test_loader.dataset)


def test_mnist_example_trains_saves_and_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(1)
    device = torch.device("cuda" if torch.accelerator.is_available() else "cpu")
    train_kwargs = {'batch_size': 64}
    test_kwargs = {'batch_size': 1000}
    cuda_kwargs = {'num_workers': 1, 'pin_memory': True, 'shuffle': True}  # used here on the CPU too
    train_kwargs.update(cuda_kwargs)
    test_kwargs.update(cuda_kwargs)
    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,))
    ])
    dataset1 = datasets.MNIST(DATA, train=True, download=False, transform=transform)
    dataset2 = datasets.MNIST(DATA, train=False, transform=transform)
    assert (len(dataset1), len(dataset2)) == (60000, 10000)
    dataset1 = torch.utils.data.Subset(dataset1, range(2000))  # a slice keeps the test fast
    dataset2 = torch.utils.data.Subset(dataset2, range(500))
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    log = []
    for epoch in range(1, 2):
        train(model, device, train_loader, optimizer, epoch, log)
        test_loss, accuracy = run_test(model, device, test_loader)
        scheduler.step()
    assert log[0].startswith("Train Epoch: 1 [0/2000 (0%)]") and len(log) == 4
    assert accuracy > 0.85, f"test accuracy {accuracy:.3f} after one epoch on 2,000 images"
    assert test_loss < 0.6
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.7)

    torch.save(model.state_dict(), "mnist_cnn.pt")
    fresh = Net().to(device)
    fresh.load_state_dict(torch.load("mnist_cnn.pt", weights_only=True))
    assert run_test(fresh, device, test_loader) == (test_loss, accuracy)
