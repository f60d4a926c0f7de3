"""Numbers computed in chapter 9 (Attention)."""

import math

import pytest

CHAPTER = "09_attention"
pytestmark = pytest.mark.book


def test_attention_by_hand_equals_pytorch(glued):
    assert glued(CHAPTER, "sdpa_diff") < 1e-5
    assert glued(CHAPTER, "mha_diff") < 1e-5


def test_scaling_keeps_scores_at_unit_variance(glued):
    assert glued(CHAPTER, "score_std_1024") == pytest.approx(math.sqrt(1024), rel=0.05)
    assert glued(CHAPTER, "score_std_scaled_1024") == pytest.approx(1.0, rel=0.05)
    assert glued(CHAPTER, "max_weight_raw_1024") > 0.9
    assert glued(CHAPTER, "max_weight_scaled_1024") < 0.3


def test_self_attention_ignores_order(glued):
    assert glued(CHAPTER, "same_word_diff") == 0.0
    assert glued(CHAPTER, "equivariance_diff") < 1e-5


def test_sinusoidal_encoding(glued):
    assert glued(CHAPTER, "pe_1_0") == pytest.approx(math.sin(1.0), abs=1e-6)
    assert glued(CHAPTER, "pe_1_1") == pytest.approx(math.cos(1.0), abs=1e-6)
    assert glued(CHAPTER, "pe_5_2") == pytest.approx(math.sin(5 / 10000 ** (2 / 64)), abs=1e-6)
    assert glued(CHAPTER, "bits_of_13") == [1, 0, 1, 1]
    assert glued(CHAPTER, "rotation_diff") < 1e-4
    assert glued(CHAPTER, "offset_spread") < 1e-4


def test_causal_mask_hides_the_future_exactly(glued):
    assert glued(CHAPTER, "causal_past_diff") == 0.0
    assert glued(CHAPTER, "unmasked_past_diff") > 0.1


def test_multihead_parameters(glued):
    assert glued(CHAPTER, "mha512_params") == 4 * 512**2 + 4 * 512 == 1_050_624


def test_path_length(glued):
    assert glued(CHAPTER, "rnn_grad_ratio_50") > 1e6
    assert glued(CHAPTER, "attention_grad_spread") < 20
