"""Tokenizers (characters, words) and a vocabulary that maps tokens to integer ids and back."""
from __future__ import annotations

import collections
import re
import unicodedata

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)
LEVELS = ("char", "word")


def tokenize(text, level="char", lowercase=True):
    """Split ``text`` into tokens: characters (``level="char"``) or words and punctuation (``"word"``).

    Text is NFC-normalised and whitespace runs collapse to one space first, so ``"é"`` written as
    ``e`` + combining accent is one character, as in the training files.

    Example:
        >>> tokenize("Datei nicht gefunden!", "word")
        ['datei', 'nicht', 'gefunden', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize: text must be a str, received {type(text).__name__}")
    if level not in LEVELS:
        raise ValueError(f"tokenize: level must be one of {LEVELS}, received {level!r}")
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if lowercase:
        text = text.lower()
    return list(text) if level == "char" else _WORD.findall(text)


class Vocab:
    """Token <-> id table; id 0 is ``<pad>``, id 1 is ``<unk>`` (every token not in the table).

    Args:
        tokens: the table, in id order, starting with ``<pad>``, ``<unk>``.

    Example:
        >>> v = Vocab.build([list("abba"), list("abc")])
        >>> v.encode(list("abz")), v.decode([2, 3, 1])
        ([2, 3, 1], ['b', 'a', '<unk>'])
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"Vocab: tokens must start with {PAD!r}, {UNK!r}, received {tokens[:2]}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("Vocab: tokens must be unique")
        self.itos = tokens
        self.stoi = {t: i for i, t in enumerate(tokens)}

    pad_id, unk_id = 0, 1

    @classmethod
    def build(cls, token_lists, min_freq=1, max_size=None):
        """The tokens seen at least ``min_freq`` times, most frequent first (ties: first seen), at most
        ``max_size`` entries including the two specials."""
        counts = collections.Counter()
        for toks in token_lists:
            counts.update(toks)
        ranked = [t for t, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_freq and t not in (PAD, UNK)]
        if max_size is not None:
            ranked = ranked[:max(0, max_size - 2)]
        return cls([PAD, UNK] + ranked)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def encode(self, tokens):
        return [self.stoi.get(t, 1) for t in tokens]

    def decode(self, ids):
        return [self.itos[int(i)] for i in ids]

    def to_list(self):
        """The table as a JSON-ready list (``Vocab(v.to_list())`` rebuilds it)."""
        return list(self.itos)

    def __repr__(self):
        return f"Vocab({len(self)} tokens)"
