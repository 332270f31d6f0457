"""Tokenizers, the vocabulary, padding/truncation and collation."""
import numpy as np
import pytest
import torch

from convnet import data, text
from helpers import assert_same


def test_tokenize_chars_and_words():
    assert text.tokenize("Ab  c", "char") == ["a", "b", " ", "c"]
    assert text.tokenize("Ab  c", "char", lowercase=False) == ["A", "b", " ", "c"]
    assert text.tokenize("Datei nicht gefunden: «x»!", "word") == ["datei", "nicht", "gefunden", ":", "«", "x", "»", "!"]
    # NFC: "e" + combining acute is the single character "é"
    assert text.tokenize("e\u0301t\u00e9", "char") == ["\u00e9", "t", "\u00e9"]
    with pytest.raises(ValueError, match="level"):
        text.tokenize("x", "byte")
    with pytest.raises(TypeError, match="str"):
        text.tokenize(b"x")


def test_vocab_build_encode_decode_round_trip():
    v = text.Vocab.build([list("abracadabra"), list("cab")], min_freq=2)
    assert v.itos[:2] == ["<pad>", "<unk>"]
    assert v.itos[2:] == ["a", "b", "r", "c"]  # a:6, b:3, r:2, c:2 (d:1 dropped): by count, ties in first-seen order
    ids = v.encode(list("cabz"))
    assert ids == [5, 2, 3, 1]
    assert v.decode(ids) == ["c", "a", "b", "<unk>"]
    assert text.Vocab(v.to_list()).itos == v.itos
    assert len(text.Vocab.build([list("abcdef")], max_size=4)) == 4
    with pytest.raises(ValueError, match="<pad>"):
        text.Vocab(["a", "b"])


def test_pad_sequences_matches_torch_pad_sequence():
    seqs = [[3, 4, 5], [6], [7, 8, 9, 10, 11]]
    ids, lengths = text.pad_sequences(seqs)
    ref = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True, padding_value=0)
    assert_same(ids, ref.numpy())
    assert_same(lengths, np.array([3, 1, 5]))
    ids, lengths = text.pad_sequences(seqs, max_len=4)  # truncation keeps the start
    assert_same(ids, np.array([[3, 4, 5, 0], [6, 0, 0, 0], [7, 8, 9, 10]]))
    assert_same(lengths, np.array([3, 1, 4]))
    assert text.pad_sequences([[1]], min_len=5)[0].shape == (1, 5)


def test_collate_padded_in_a_dataloader():
    samples = [([1, 2, 3], 0), ([4], 1), ([5, 6], 1)]
    loader = data.DataLoader(samples, batch_size=3, collate_fn=text.collate_padded)
    x, y = next(iter(loader))
    assert_same(x.numpy(), np.array([[1, 2, 3], [4, 0, 0], [5, 6, 0]]))
    assert_same(y.numpy(), np.array([0, 1, 1]))


def test_encoder_and_encoded_dataset_trim_batches():
    enc = text.TextEncoder.fit(["abc", "abd", "xyz"], level="char", max_len=6, min_freq=1, min_len=2)
    assert enc.encode(["ab", "q"]).tolist() == [[enc.vocab.stoi["a"], enc.vocab.stoi["b"]], [1, 0]]
    back = text.TextEncoder.from_dict(enc.to_dict())
    assert back.to_dict() == enc.to_dict()
    ds = text.EncodedText(["abcabcabc", "a", "ab"], [0, 1, 1], enc, ["p", "q"], "toy")
    assert ds.input_shape == (6,)
    x, y = ds.get_batch([1, 2])  # cut to the longest of the batch (2), not max_len
    assert x.shape == (2, 2) and y.tolist() == [1, 1]
    x, _ = ds.get_batch([0])
    assert x.shape == (1, 6)  # truncated at max_len
    loader = text.BucketLoader(ds, batch_size=2, shuffle=True, seed=0)
    seen = sorted(int(i) for xb, yb in loader for i in yb.numpy())
    assert seen == [0, 1, 1] and len(loader) == 2
