"""Sentences -> padded id arrays: padding/truncation, a batch-trimming dataset, and the text pipeline
(``TextEncoder``) that a checkpoint stores so prediction tokenizes exactly as training did."""
from __future__ import annotations

import numpy as np

from ..data.dataset import Dataset
from .vocab import LEVELS, Vocab, tokenize


def pad_sequences(seqs, max_len=None, pad_id=0, min_len=1):
    """Lists of ids -> ``(ids (N, L) int64, lengths (N,) int64)``; longer ones are truncated at the end.

    ``L`` is ``max_len`` when given, else the longest sequence; at least ``min_len`` (so a width-5 filter
    fits a 2-token sentence). ``lengths`` are the lengths after truncation.
    """
    seqs = [list(s) for s in seqs]
    lengths = np.array([len(s) if max_len is None else min(len(s), max_len) for s in seqs], np.int64)
    width = max(int(lengths.max()) if len(seqs) else 0, min_len) if max_len is None else max(max_len, min_len)
    out = np.full((len(seqs), width), pad_id, np.int64)
    for row, (s, n) in enumerate(zip(seqs, lengths)):
        out[row, :n] = s[:n]
    return out, lengths


def collate_padded(batch, pad_id=0, min_len=1):
    """``collate_fn`` for a ``DataLoader`` over ``(ids list, label)`` samples: pads to the batch's longest."""
    ids, _ = pad_sequences([s for s, _ in batch], pad_id=pad_id, min_len=min_len)
    return ids, np.array([y for _, y in batch], np.int64)


class TextEncoder:
    """Tokenizer + vocabulary + length limit: ``encode(texts) -> (N, L) int64``.

    Args:
        vocab: a ``Vocab``.
        level: ``"char"`` or ``"word"``.
        max_len: sentences are truncated to this many tokens.
        lowercase: lowercase before tokenizing.
        min_len: pad to at least this many tokens (the widest convolution).
    """

    def __init__(self, vocab, level="char", max_len=256, lowercase=True, min_len=5):
        if level not in LEVELS:
            raise ValueError(f"TextEncoder: level must be one of {LEVELS}, received {level!r}")
        if not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"TextEncoder: max_len must be a positive integer, received {max_len!r}")
        self.vocab, self.level, self.max_len = vocab, level, max_len
        self.lowercase, self.min_len = bool(lowercase), int(min_len)

    @classmethod
    def fit(cls, texts, level="char", max_len=256, lowercase=True, min_freq=2, max_size=None, min_len=5):
        """Build the vocabulary from the training ``texts``."""
        vocab = Vocab.build((tokenize(t, level, lowercase) for t in texts), min_freq=min_freq, max_size=max_size)
        return cls(vocab, level, max_len, lowercase, min_len)

    def ids(self, text):
        return self.vocab.encode(tokenize(text, self.level, self.lowercase))[:self.max_len]

    def encode(self, texts):
        """``texts`` (list of str) -> ``(N, L)`` int64 ids, ``L`` = the longest (<= max_len, >= min_len)."""
        return pad_sequences([self.ids(t) for t in texts], min_len=self.min_len)[0]

    def to_dict(self):
        """JSON-ready description (what a checkpoint's metadata keeps under ``"text"``)."""
        return {"level": self.level, "max_len": self.max_len, "lowercase": self.lowercase,
                "min_len": self.min_len, "vocab": self.vocab.to_list()}

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict) or not isinstance(d.get("vocab"), list):
            raise ValueError("TextEncoder.from_dict: expected a dict with a 'vocab' list (a text checkpoint's "
                             f"meta['text']), received {type(d).__name__}")
        return cls(Vocab(d["vocab"]), d.get("level", "char"), int(d.get("max_len", 256)),
                   bool(d.get("lowercase", True)), int(d.get("min_len", 5)))


class EncodedText(Dataset):
    """Sentences encoded once into ``(N, max_len)`` ids; each batch is cut to its longest sentence.

    Items are ``(ids (L,) int64, label)``; ``get_batch`` returns ``(ids (B, L_batch), labels (B,))``.
    Attributes ``classes``, ``name``, ``input_shape`` (``(max_len,)``), ``normalization`` (None) and
    ``kind = "text"`` are what the trainer and the CLI read.
    """

    kind = "text"
    normalization = None

    def __init__(self, texts, targets, encoder, classes, name):
        self.ids, self.lengths = pad_sequences([encoder.ids(t) for t in texts], encoder.max_len,
                                               min_len=encoder.min_len)
        self.targets = np.asarray(targets, np.int64)
        self.encoder, self.classes, self.name = encoder, list(classes), name
        self.input_shape = (encoder.max_len,)

    def __len__(self):
        return len(self.targets)

    def get_batch(self, indices):
        idx = np.asarray(indices, np.int64)
        width = max(int(self.lengths[idx].max()) if len(idx) else 1, self.encoder.min_len)
        return self.ids[idx, :width], self.targets[idx]

    def __getitem__(self, index):
        n = max(int(self.lengths[index]), self.encoder.min_len)
        return self.ids[index, :n], int(self.targets[index])


def encode_splits(splits, level="char", max_len=256, lowercase=True, min_freq=2, max_size=None):
    """Raw text splits ``{"train", "val", "test"}`` (``texts``, ``targets``, ``classes``, ``name``) ->
    ``(EncodedText splits, encoder)``; the vocabulary is built from the training split only."""
    train = splits["train"]
    encoder = TextEncoder.fit(train.texts, level, max_len, lowercase, min_freq, max_size)
    return {k: EncodedText(s.texts, s.targets, encoder, s.classes, s.name) for k, s in splits.items()}, encoder


def predict_proba(model, encoder, texts):
    """Class probabilities ``(N, num_classes)`` float64 for a list of sentences (model in eval mode)."""
    from ..autograd import no_grad
    from ..tensor import Tensor

    with no_grad():
        return model(Tensor(encoder.encode(list(texts)))).softmax(1).numpy().astype(np.float64)


class BucketBatchSampler:
    """Batches of similar-length sentences (less padding, faster epochs), in a fresh random order each epoch.

    Each epoch: shuffle all indices, cut them into pools of ``pool_batches * batch_size``, sort each pool by
    length, cut it into batches, and shuffle the batches. Pass as ``DataLoader(ds, batch_sampler=...)``.
    """

    def __init__(self, lengths, batch_size, seed=0, pool_batches=50):
        self.lengths, self.batch_size = np.asarray(lengths), int(batch_size)
        self.pool = self.batch_size * int(pool_batches)
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self):
        perm = self.rng.permutation(len(self.lengths))
        batches = []
        for start in range(0, len(perm), self.pool):
            pool = perm[start:start + self.pool]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches += [pool[i:i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        for k in self.rng.permutation(len(batches)):
            yield batches[k].tolist()


class BucketLoader:
    """A loader over an ``EncodedText`` that yields ``(ids (B, L_batch), labels (B,))`` Tensors in
    length buckets (``BucketBatchSampler``); ``shuffle=False`` keeps the dataset order (evaluation)."""

    def __init__(self, dataset, batch_size=64, shuffle=True, seed=0):
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), shuffle
        self.sampler = BucketBatchSampler(dataset.lengths, batch_size, seed)

    def __len__(self):
        return len(self.sampler)

    def __iter__(self):
        from ..tensor import Tensor

        n = len(self.dataset)
        batches = iter(self.sampler) if self.shuffle else (
            list(range(i, min(i + self.batch_size, n))) for i in range(0, n, self.batch_size))
        for idx in batches:
            x, y = self.dataset.get_batch(idx)
            yield Tensor(x), Tensor(y)

    def state_dict(self):
        return {"rng": self.sampler.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.sampler.rng.bit_generator.state = state["rng"]
