"""``comfy.ldm.modules.attention``: the attention function the host's models call, and its override seam.

Reproduced host behaviour (v0.14-v0.33): ``optimized_attention(q, k, v, heads, mask=None, skip_reshape=False,
skip_output_reshape=False, transformer_options=..., **kwargs)`` takes ``[B, H, L, D]`` tensors with
``skip_reshape`` and ``[B, L, H*D]`` otherwise, and returns ``[B, L, H*D]`` (``[B, H, L, D]`` with
``skip_output_reshape``). It is wrapped: when the caller passes ``transformer_options`` holding
``optimized_attention_override``, the call becomes ``override(func, q, k, v, heads, ...)`` with
``func`` the unwrapped function, and the keyword ``_inside_attn_wrapper`` marks it so that it is not
overridden twice.
"""

from __future__ import annotations

import functools

import torch.nn.functional as F


def wrap_attn(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        options = kwargs.get("transformer_options")
        if "_inside_attn_wrapper" in kwargs or options is None or "optimized_attention_override" not in options:
            return func(*args, **kwargs)
        kwargs["_inside_attn_wrapper"] = True
        try:
            return options["optimized_attention_override"](func, *args, **kwargs)
        finally:
            del kwargs["_inside_attn_wrapper"]

    return wrapper


@wrap_attn
def attention_pytorch(q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False,
                      **kwargs):
    if not skip_reshape:
        b, _, inner = q.shape
        q, k, v = (t.reshape(b, -1, heads, inner // heads).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if skip_output_reshape:
        return out
    return out.transpose(1, 2).reshape(out.shape[0], out.shape[2], -1)


optimized_attention = attention_pytorch
