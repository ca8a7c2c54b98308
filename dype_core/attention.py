"""Proportional attention: the attention-entropy scaling of Jin et al. 2023 (arXiv 2306.08645), used
training-free for larger images by Lumina-Next and I-Max (arXiv 2410.07536).

Softmax attention over ``N`` keys spreads thinner as ``N`` grows. Scaling the logits by
``sqrt(log N / log N_train)`` (Jin et al.'s entropy-preserving scale ``sqrt(log_{N_train} N / d)``,
written as a factor on the usual ``1 / sqrt(d)``) keeps the entropy of training. It is applied as a
pre-scale of ``q``, which multiplies every logit of the query once. ``N`` counts the keys the image
attends over: every key of a self-attention that holds the image tokens (text tokens of a joint
attention included); ``N_train`` counts the same with the image at its trained size.
"""

from __future__ import annotations

import math


def proportional_factor(keys: int, image_tokens: int, base_image_tokens: float) -> float:
    """``sqrt(log N / log N_train)`` for an attention over ``keys = N`` keys that include the image's
    ``image_tokens``, trained with ``base_image_tokens`` in their place: ``N_train = N - image + base``.

    Exactly 1 at or below the trained size, and for an attention whose keys do not hold the image (a
    cross-attention to text), whose spread does not change with the image's size.
    """
    if image_tokens <= base_image_tokens or keys < image_tokens:
        return 1.0
    trained = keys - image_tokens + base_image_tokens
    if trained <= 1.0:
        raise ValueError(f"proportional attention needs a trained key count above 1, got {trained:g}")
    return math.sqrt(math.log(keys) / math.log(trained))
