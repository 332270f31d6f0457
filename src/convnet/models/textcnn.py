"""Kim (2014)'s sentence CNN: embedding, parallel 1-D convolutions, max-over-time pooling, dropout, linear."""
from __future__ import annotations

from .. import nn
from ..ops import cat
from ..tensor import Tensor
from . import register


POOLS = ("max", "max+mean")


class TextCNN(nn.Module):
    r"""Sentence classifier of Kim (2014), "Convolutional Neural Networks for Sentence Classification".

    Token ids ``(N, L)`` -> embedding ``(N, L, E)`` -> transposed to ``(N, E, L)`` -> for each width ``k`` in
    ``kernel_sizes`` a ``Conv1d(E, num_filters, k)`` + ReLU ``(N, F, L - k + 1)`` -> max over time ``(N, F)`` ->
    concatenated ``(N, F * len(kernel_sizes))`` -> dropout -> linear ``(N, num_classes)``.

    Args:
        num_classes: output classes.
        vocab_size: rows of the embedding table (id 0 is padding: a zero vector without gradient).
        embedding_dim: size of each token vector ``E``.
        kernel_sizes: filter widths (the paper's 3, 4, 5).
        num_filters: filters per width ``F`` (the paper's 100).
        dropout: dropout probability before the classifier (the paper's 0.5).
        level: ``"char"`` or ``"word"``: which tokens the model reads (recorded for the tokenizer).
        pool: ``"max"`` (Kim's max over time) or ``"max+mean"``: each filter also reports its mean over the
            sentence's own positions (padding id 0 excluded), so the classifier sees how *often* a pattern
            fires, not only whether it does — what counting n-grams gives naive Bayes. Doubles the features.

    Shape:
        ``(N, L)`` int64 with ``L >= max(kernel_sizes)`` -> ``(N, num_classes)``.

    Example:
        >>> import convnet as cn
        >>> m = cn.models.textcnn(num_classes=14, vocab_size=100)
        >>> m(cn.tensor([[5, 6, 7, 8, 9, 0]])).shape
        (1, 14)
    """

    def __init__(self, num_classes, vocab_size, embedding_dim=64, kernel_sizes=(3, 4, 5), num_filters=100,
                 dropout=0.5, level="char", pool="max"):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"TextCNN: pool must be one of {POOLS}, received {pool!r}")
        self.level, self.pool = level, pool
        if pool == "max+mean":
            self.onnx_export_error = ("pool='max+mean' masks the padding with a mask read from the ids' values, "
                                      "which a trace would freeze at the example; export a pool='max' model")
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv1d(embedding_dim, num_filters, k) for k in self.kernel_sizes])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_filters * len(self.kernel_sizes) * (2 if pool == "max+mean" else 1), num_classes)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] < max(self.kernel_sizes):
            raise ValueError(f"TextCNN: input must be token ids (N, L) with L >= {max(self.kernel_sizes)} (the "
                             f"widest filter), received shape {tuple(x.shape)}")
        e = self.embedding(x).transpose(1, 2)  # (N, L, E) -> (N, E, L)
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = conv(e).relu()  # (N, F, L-k+1)
            if self.pool == "max":  # Kim: padding windows take part (as in the paper's code)
                pooled.append(h.amax(2))  # (N, F)
                continue
            # window j is real text when its last token k-1+j is not padding; masking makes both pools
            # independent of how far a batch is padded (h >= 0, so a masked 0 never wins the max)
            real = (x._data[:, k - 1:] != 0).astype(h._data.dtype)[:, None, :]  # (N, 1, L-k+1)
            real[:, :, 0] = 1  # a sentence shorter than k still has its first window
            h = h * Tensor(real)
            pooled += [h.amax(2), h.sum(2) / Tensor(real.sum(2))]  # (N, F) each
        return self.fc(self.dropout(cat(pooled, 1)))  # (N, F * len(kernel_sizes)) -> (N, num_classes)


@register("textcnn", input_shape=(1, 256))
def textcnn(num_classes=14, in_channels=1, vocab_size=256, embedding_dim=64, kernel_sizes=(3, 4, 5),
            num_filters=100, dropout=0.5, level="char", pool="max"):
    """Character-level Kim CNN (langid-gnu: 14 languages). ``in_channels`` is unused (one channel of token ids)."""
    return TextCNN(num_classes, vocab_size, embedding_dim, kernel_sizes, num_filters, dropout, level, pool)


@register("textcnn_word", input_shape=(1, 64))
def textcnn_word(num_classes=14, in_channels=1, vocab_size=20000, embedding_dim=128, kernel_sizes=(3, 4, 5),
                 num_filters=100, dropout=0.5, level="word", pool="max"):
    """Word-level Kim CNN (the paper's setting). ``in_channels`` is unused (one channel of token ids)."""
    return TextCNN(num_classes, vocab_size, embedding_dim, kernel_sizes, num_filters, dropout, level, pool)
