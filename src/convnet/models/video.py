"""Three video classifiers for clips ``(N, C, T, H, W)``: frame averaging, a small C3D, and CNN + LSTM.

The notes' point: a 2-D CNN applied to single frames and averaged over time sees *what* is in the clip
but not *how it moves*; 3-D convolutions (Tran et al. 2015, C3D) or a recurrent layer over per-frame features
(Donahue et al. 2015, LRCN) see motion.
"""
from __future__ import annotations

from .. import nn


def _frame_cnn(in_channels, width):
    """Per-frame 2-D features: ``(B, C, H, W) -> (B, 2 * width)`` (two conv-BN-ReLU-pool stages, global average)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _frames(x):
    """``(N, C, T, H, W) -> (N * T, C, H, W)``: every frame as an image."""
    n, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(n * t, c, h, w), n, t


class FrameAverageCNN(nn.Module):
    """The baseline: a 2-D CNN classifies every frame; the clip's logits are the mean over frames.

    Shape: ``(N, C, T, H, W) -> (N, num_classes)``.
    """

    def __init__(self, num_classes=8, in_channels=1, width=16):
        super().__init__()
        self.features = _frame_cnn(in_channels, width)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        frames, n, t = _frames(x)
        logits = self.fc(self.features(frames))  # (N*T, num_classes)
        return logits.reshape(n, t, -1).mean(1)  # (N, num_classes)


class C3D(nn.Module):
    """A small C3D (Tran et al. 2015): 3x3x3 convolutions with batch norm, 3-D max pooling, global average.

    Pooling keeps time in the first stage (``(1, 2, 2)``, as in C3D) and halves it afterwards.
    Shape: ``(N, C, T, H, W) -> (N, num_classes)``.
    """

    def __init__(self, num_classes=8, in_channels=1, width=16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(in_channels, width, 3, padding=1), nn.BatchNorm3d(width), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
            nn.Conv3d(width, 2 * width, 3, padding=1), nn.BatchNorm3d(2 * width), nn.ReLU(), nn.MaxPool3d(2),
            nn.Conv3d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm3d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


class CNNLSTM(nn.Module):
    """Per-frame 2-D CNN features fed in time order to an ``LSTM``; its last hidden state is classified.

    Shape: ``(N, C, T, H, W) -> (N, num_classes)``.
    """

    def __init__(self, num_classes=8, in_channels=1, width=16, hidden_size=64, num_layers=1):
        super().__init__()
        self.features = nn.Sequential(_frame_cnn(in_channels, width)[:-2], nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                                      nn.Linear(2 * width * 16, 2 * width * 2), nn.ReLU())
        self.lstm = nn.LSTM(4 * width, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        frames, n, t = _frames(x)
        feats = self.features(frames).reshape(n, t, -1)  # (N*T, F) -> (N, T, F)
        _, (h, _) = self.lstm(feats)  # h (num_layers, N, hidden)
        return self.fc(h[-1])


# Builders (``model.config`` rebuilds them: ``models.video.BUILDERS[config["name"]](**options)``). They are not
# in the image zoo's registry: its tools (summary, ONNX export, replace_head tests) assume (C, H, W) inputs.
def _built(model, name, **options):
    model.config = {"name": name, **options}
    return model


def frame_avg_cnn(num_classes=8, in_channels=1, width=16):
    return _built(FrameAverageCNN(num_classes, in_channels, width), "frame_avg_cnn", num_classes=num_classes,
                  in_channels=in_channels, width=width)


def c3d_small(num_classes=8, in_channels=1, width=16):
    return _built(C3D(num_classes, in_channels, width), "c3d_small", num_classes=num_classes,
                  in_channels=in_channels, width=width)


def cnn_lstm(num_classes=8, in_channels=1, width=16, hidden_size=64, num_layers=1):
    return _built(CNNLSTM(num_classes, in_channels, width, hidden_size, num_layers), "cnn_lstm",
                  num_classes=num_classes, in_channels=in_channels, width=width, hidden_size=hidden_size,
                  num_layers=num_layers)


BUILDERS = {"frame_avg_cnn": frame_avg_cnn, "c3d_small": c3d_small, "cnn_lstm": cnn_lstm}


def get(name, **options):
    """Build the video model ``name`` (one of ``BUILDERS``) with ``options``."""
    if name not in BUILDERS:
        raise ValueError(f"models.video.get: unknown video model {name!r}; valid names: {', '.join(BUILDERS)}")
    return BUILDERS[name](**options)
