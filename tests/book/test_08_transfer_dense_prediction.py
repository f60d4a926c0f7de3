"""Numbers that chapter 8 (transfer learning, dense prediction) computes."""

import pytest

CH = "08_transfer_dense_prediction"

pytestmark = pytest.mark.book


def test_pretraining_learns_the_source_task(glued):
    assert glued(CH, "source_accuracy") > 0.9


def test_transfer_beats_scratch_with_few_labels(glued):
    acc = glued(CH, "transfer_accuracy")
    assert set(acc) == {"scratch", "frozen", "fine-tuned"}
    assert acc["scratch"][1] < 0.35  # about chance (20%) for five classes
    for k in (1, 3):
        assert acc["frozen"][k] > acc["scratch"][k] + 0.15
        assert acc["fine-tuned"][k] > acc["scratch"][k] + 0.15
    assert acc["fine-tuned"][10] > acc["scratch"][10]
    assert acc["scratch"][10] > acc["scratch"][1]  # scratch catches up with more labels


def test_fully_convolutional_classifier(glued):
    assert glued(CH, "fcn_equal_on_16x16") is True
    assert glued(CH, "fcn_map_width") == 96 // 4 - 4 + 1
    assert glued(CH, "fcn_found") == [3, 1, 4, 5, 9]


def test_transposed_convolution_is_the_transposed_matrix(glued):
    assert glued(CH, "conv_matrix_shape") == [9, 25]
    assert glued(CH, "transpose_matches") is True
    assert glued(CH, "checkerboard_counts") == [1, 2, 4]


def _conv(c_in, c_out, k):
    return k * k * c_in * c_out + c_out


def test_unet_shapes_and_size(glued):
    assert glued(CH, "unet_output_shape") == [2, 388, 388]
    assert glued(CH, "unet_conv_layers") == 23
    widths = [64, 128, 256, 512, 1024]
    params = sum(_conv(a, b, 3) + _conv(b, b, 3) for a, b in zip([1] + widths, widths))
    for c in widths[1:]:
        params += _conv(c, c // 2, 2)  # 2x2 up-convolution
        params += _conv(c, c // 2, 3) + _conv(c // 2, c // 2, 3)
    params += _conv(64, 2, 1)
    assert glued(CH, "unet_params") == params


def test_dilated_receptive_fields(glued):
    assert glued(CH, "dilated_fields") == [3, 7, 15, 31]
    assert glued(CH, "plain_fields") == [3, 5, 7, 9]
    assert glued(CH, "gridding_hole_fraction") == pytest.approx(1 - (7 / 13) ** 2, abs=1e-4)
