"""Text for CNNs: tokenizers, a vocabulary, padding/truncation and collation (an application over ``nn``).

Example::

    from convnet import data, models, text
    splits = data.langid_splits()                           # raw sentences, 14 languages
    encoded, encoder = text.encode_splits(splits, "char")   # vocabulary from the training split
    model = models.get("textcnn", num_classes=14, vocab_size=len(encoder.vocab))
    text.predict_proba(model.eval(), encoder, ["Datei nicht gefunden"])
"""
from .vocab import LEVELS, PAD, UNK, Vocab, tokenize  # noqa: F401
from .encode import (BucketBatchSampler, BucketLoader, EncodedText, TextEncoder, collate_padded,  # noqa: F401
                     encode_splits, pad_sequences, predict_proba)
