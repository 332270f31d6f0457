"""Text checkpoints in ``convnet eval`` and ``convnet predict --text``: encode with the checkpoint's vocabulary."""
from __future__ import annotations

import numpy as np


def _error(msg):
    from .main import CLIError

    return CLIError(msg)


def encode_for_eval(dataset, meta, checkpoint, name):
    """A raw sentence dataset -> ``EncodedText`` with the tokenizer stored in the checkpoint's metadata."""
    from ..text import EncodedText, TextEncoder

    if not meta.get("text"):
        raise _error(f"{checkpoint} stores no vocabulary (metadata 'text'): it is not a text model, so it cannot be "
                     f"evaluated on the sentences of {name}")
    return EncodedText(dataset.texts, dataset.targets, TextEncoder.from_dict(meta["text"]), dataset.classes,
                       dataset.name)


def predict_text(args, model, meta):
    """One line per ``--text`` sentence: its top-k classes with probabilities. Returns the exit status."""
    from ..text import TextEncoder, predict_proba

    if not meta.get("text"):
        raise _error(f"--text: {args.checkpoint} is not a text model (its metadata stores no vocabulary); give "
                     "IMAGE files instead")
    if args.images:
        raise _error(f"{args.checkpoint} is a text model: pass sentences with --text \"...\", not files "
                     f"({args.images[0]})")
    if not args.text:
        raise _error(f"{args.checkpoint} is a text model: pass one or more --text \"SENTENCE\"")
    if any(not t.strip() for t in args.text):
        raise _error("--text: a sentence is empty")
    model.eval()
    probs = predict_proba(model, TextEncoder.from_dict(meta["text"]), args.text)  # (N, num_classes)
    classes = meta.get("classes") or [str(k) for k in range(probs.shape[1])]
    k = args.top_k or 3
    if not 1 <= k <= probs.shape[1]:
        raise _error(f"--top-k must be between 1 and the number of classes ({probs.shape[1]}), received {k}")
    for t, p in zip(args.text, probs):
        top = np.argsort(-p, kind="stable")[:k]
        print(f"{t!r}: " + "  ".join(f"{classes[i]} ({p[i]:.1%})" for i in top))
    return 0
