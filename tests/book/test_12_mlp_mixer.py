"""Numbers computed in chapter 12 (MLP-Mixer and the course summary)."""

import pytest

CHAPTER = "12_mlp_mixer"
pytestmark = pytest.mark.book


def test_mixing_is_transpose_and_convolution(glued):
    assert glued(CHAPTER, "mixer_block_diff") < 1e-5
    assert glued(CHAPTER, "channel_mixing_conv_diff") < 1e-5
    assert glued(CHAPTER, "token_mixing_conv_diff") < 1e-5


def test_mixer_sizes(glued):
    assert glued(CHAPTER, "mixer_s16_params") == 18_528_264
    assert glued(CHAPTER, "mixer_b16_params") == 59_880_472
    assert glued(CHAPTER, "mixer_l16_params") == 208_196_168
    # the paper's table counts the backbone without the 1000-class head
    assert glued(CHAPTER, "mixer_l16_params_no_head") == pytest.approx(207e6, rel=0.002)
    h14_backbone = glued(CHAPTER, "mixer_h14_params") - (1000 * 1280 + 1000)
    assert h14_backbone == pytest.approx(431e6, rel=0.002)
    assert glued(CHAPTER, "token_mlp_params_b16") == 2 * 196 * 384 + 384 + 196 == 151_108


def test_small_models_on_digits(glued):
    mixer, vit = glued(CHAPTER, "mixer_digits_error"), glued(CHAPTER, "vit_digits_error")
    assert mixer < 0.06 and vit < 0.15
    assert mixer < vit
    assert glued(CHAPTER, "resnet_digits_error") < 0.06
    assert glued(CHAPTER, "mlp_digits_error") < 0.06


def test_final_table(glued):
    assert glued(CHAPTER, "resnet50_params") == 25_557_032
    assert glued(CHAPTER, "resnet50_macs") == pytest.approx(4.09e9, rel=0.005)
    assert glued(CHAPTER, "vgg16_macs") == pytest.approx(15.47e9, rel=0.005)
    assert glued(CHAPTER, "vit_b16_params") == 86_567_656
    assert glued(CHAPTER, "vit_b16_attention_macs") == 12 * 2 * 197**2 * 768
    total = glued(CHAPTER, "vit_b16_linear_macs") + glued(CHAPTER, "vit_b16_attention_macs")
    assert total == pytest.approx(17.56e9, rel=0.005)
    assert glued(CHAPTER, "mixer_b16_macs") == pytest.approx(12.6e9, rel=0.005)
