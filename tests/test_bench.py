"""The work counts behind ``bench``'s hardware-independent comparison."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explainer.bench import gflop, ig_gflop


def test_ig_work_counts_forward_and_input_gradient_only():
    # a 10 -> 20 linear layer: 200 multiply-adds forward and 200 for the input gradient, 2 FLOP each;
    # a weight gradient would add another 400, and Integrated Gradients never asks for one
    model = nn.Linear(10, 20)
    x = torch.randn(1, 10)
    assert ig_gflop(model, x, steps=32) == pytest.approx(32 * 800 / 1e9)
    assert all(p.requires_grad for p in model.parameters())  # the model is left as it was


def test_attention_is_counted():
    q = torch.randn(1, 2, 4, 8)  # 2 heads, 4 tokens, 8 dims: q k^T and the weighted sum, 2 * 4 * 4 * 8 each
    assert gflop(lambda: F.scaled_dot_product_attention(q, q, q)) == pytest.approx(2 * 2 * (2 * 4 * 4 * 8) / 1e9)
