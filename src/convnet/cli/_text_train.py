"""The text branch of ``convnet train``: encode the sentence splits with a vocabulary built from the
training split and build the text model for it (the tokenizer level comes from the model)."""
from __future__ import annotations


def text_model_and_splits(s):
    """``(model, encoded splits)`` for settings ``s`` whose dataset holds sentences.

    The model must be a text model (``textcnn``, ``textcnn_word``); images-only settings are reset:
    ``augment`` becomes ``"none"``. The vocabulary lives in ``splits["train"].encoder`` (the trainer stores
    it in the checkpoint's metadata under ``"text"``).
    """
    from .. import data, models, text
    from .main import CLIError

    level = {"textcnn": "char", "textcnn_word": "word"}.get(s["model"])
    if level is None:
        raise CLIError(f"--dataset {s['dataset']} holds sentences: it needs a text model (textcnn, textcnn_word), "
                       f"received --model {s['model']}")
    s["augment"] = "none"
    max_len = s["image_size"] or models.default_input_shape(s["model"])[1]
    raw = data.load_splits(s["dataset"], root=s["data_dir"])
    splits, encoder = text.encode_splits(raw, level=level, max_len=max_len,
                                         max_size=None if level == "char" else 20000)
    try:
        model = models.get(s["model"], num_classes=len(raw["train"].classes), vocab_size=len(encoder.vocab),
                           **s.get("model_options", {}))
    except (TypeError, ValueError) as e:
        raise CLIError(f"--model-option: model {s['model']!r} refused {s['model_options']}: {e}") from None
    return model, splits
