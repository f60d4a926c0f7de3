"""Numbers computed in chapter 10 (Transformers)."""

import pytest

CHAPTER = "10_transformers"
pytestmark = pytest.mark.book


def test_block_orders_match_pytorch(glued):
    assert glued(CHAPTER, "encoder_layer_diff") < 1e-5


def test_block_parameter_counts(glued):
    d = 768
    assert glued(CHAPTER, "encoder_block_params_768") == 12 * d**2 + 13 * d == 7_087_872
    d = 512
    assert glued(CHAPTER, "decoder_block_params_512") == 16 * d**2 + 19 * d == 4_204_032
    assert glued(CHAPTER, "gpt3_block_params") == 12 * 12288**2 + 13 * 12288
    assert glued(CHAPTER, "transformer_base_stack") == 44_140_544


def test_post_norm_vs_pre_norm_at_initialization(glued):
    assert glued(CHAPTER, "postnorm_grad_last_over_first") > 1.0
    assert glued(CHAPTER, "prenorm_grad_last_over_first") < 1.0
    assert glued(CHAPTER, "postnorm_stream_last") == pytest.approx(8.0, abs=0.1)  # sqrt(64)
    assert glued(CHAPTER, "prenorm_stream_growth") > 1.3


def test_decoder_masks_the_future_but_not_the_source(glued):
    assert glued(CHAPTER, "decoder_future_diff") == 0.0
    assert glued(CHAPTER, "decoder_source_diff") > 0.01


def test_tiny_transformer_sorts(glued):
    assert glued(CHAPTER, "sort_digit_accuracy") > 0.95
    assert glued(CHAPTER, "sort_sequence_accuracy") > 0.85


def test_captioning_tokens(glued):
    assert glued(CHAPTER, "caption_image_tokens") == 49


def test_model_size_table(glued):
    # exact parameter counts of the released checkpoints
    assert glued(CHAPTER, "size_bert_base") == 109_482_240
    assert glued(CHAPTER, "size_bert_large") == 335_141_888
    assert glued(CHAPTER, "size_gpt1") == 116_534_784
    assert glued(CHAPTER, "size_gpt2") == 1_557_611_200
    # the lecture's rounded figures
    assert glued(CHAPTER, "size_transformer_base") == pytest.approx(65e6, rel=0.04)
    assert glued(CHAPTER, "size_transformer_big") == pytest.approx(213e6, rel=0.01)
    assert glued(CHAPTER, "size_megatron") == pytest.approx(8.3e9, rel=0.01)
    assert glued(CHAPTER, "size_gpt3") == pytest.approx(175e9, rel=0.005)
    assert glued(CHAPTER, "embed_share_gpt3") < 0.005
