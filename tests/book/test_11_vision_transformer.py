"""Numbers computed in chapter 11 (Vision Transformer)."""

import pytest

CHAPTER = "11_vision_transformer"
pytestmark = pytest.mark.book


def test_pixels_versus_patches(glued):
    assert glued(CHAPTER, "pixel_scores") == 224**4 == 2_517_630_976
    assert glued(CHAPTER, "patch_scores") == 14**4 == 38_416


def test_patch_embedding_is_a_linear_map_of_patches(glued):
    assert glued(CHAPTER, "patch_embed_diff") < 1e-4
    assert glued(CHAPTER, "patch_embed_params") == 3 * 16 * 16 * 768 + 768 == 590_592
    assert glued(CHAPTER, "vit_b_tokens") == 197


def test_vit_sizes(glued):
    assert glued(CHAPTER, "vit_b16_params") == 86_567_656
    assert glued(CHAPTER, "vit_l16_params") == 304_326_632  # the paper rounds to 307M
    assert glued(CHAPTER, "vit_l16_params") == pytest.approx(307e6, rel=0.01)
    assert glued(CHAPTER, "vit_h14_params") == 632_045_800


def test_small_vit_and_resnet_on_digits(glued):
    assert glued(CHAPTER, "vit_small_params") < 200_000
    assert glued(CHAPTER, "resnet_small_params") < 400_000
    vit, resnet = glued(CHAPTER, "vit_digits_error"), glued(CHAPTER, "resnet_digits_error")
    assert vit < 0.15 and resnet < 0.06
    assert resnet < vit
    assert glued(CHAPTER, "resnet_digits_error_10pct") < glued(CHAPTER, "vit_digits_error_10pct")
