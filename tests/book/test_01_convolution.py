"""The numbers chapter 1 (Convolution) computed, checked against the lecture."""

import pytest

CHAPTER = "01_convolution"

pytestmark = pytest.mark.book


def test_fc_vs_locally_connected_vs_conv(glued):
    assert glued(CHAPTER, "fc_weights") == 1_600_000_000
    assert glued(CHAPTER, "lc_weights") == 4_000_000
    assert glued(CHAPTER, "conv_weights") == 10_000


def test_sliding_dot_product_matches_conv2d(glued):
    assert glued(CHAPTER, "dot_product_diff") < 1e-5


def test_output_size_table(glued):
    sizes = glued(CHAPTER, "output_sizes")
    # (W, F, P, S) -> (formula, PyTorch output size)
    assert sizes[(7, 3, 0, 1)] == (5, 5)
    assert sizes[(7, 3, 0, 2)] == (3, 3)
    assert sizes[(7, 3, 1, 1)] == (7, 7)
    assert sizes[(32, 5, 0, 1)] == (28, 28)
    assert sizes[(32, 5, 2, 1)] == (32, 32)  # 10 5x5 filters, stride 1, pad 2 -> 32x32x10
    assert sizes[(227, 11, 0, 4)] == (55, 55)  # AlexNet CONV1
    formula, actual = sizes[(7, 3, 0, 3)]  # does not fit: PyTorch floors
    assert formula == pytest.approx(7 / 3, abs=1e-3) and actual == 2
    assert sizes[(32, 5, 2, 2)] == (16.5, 16)


def test_conv_parameter_count(glued):
    assert glued(CHAPTER, "conv_params_760") == 760


def test_one_by_one_conv_is_a_linear_layer_per_pixel(glued):
    assert glued(CHAPTER, "one_by_one_max_diff") < 1e-5


def test_receptive_fields(glued):
    assert glued(CHAPTER, "rf_3x3_stack_3") == 7
    assert glued(CHAPTER, "rf_7x7_single") == 7
    assert glued(CHAPTER, "rf_stride1") == [1 + 2 * L for L in range(1, 9)]
    assert glued(CHAPTER, "rf_stride2_every_layer") == [2 ** (L + 1) - 1 for L in range(1, 9)]


def test_1d_and_3d_convolution_shapes(glued):
    assert glued(CHAPTER, "conv1d_shape") == (1, 16, 96)
    assert glued(CHAPTER, "conv3d_shape") == (1, 8, 16, 56, 56)
    assert glued(CHAPTER, "conv3d_params") == 3 * 3 * 3 * 3 * 8 + 8
