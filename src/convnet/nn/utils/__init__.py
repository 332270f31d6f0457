"""``nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``), as torch.nn.utils."""
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401
