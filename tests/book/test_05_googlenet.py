"""The numbers that chapter 5 (GoogLeNet) computes and states."""

from __future__ import annotations

import pytest

CHAPTER = "05_googlenet"
pytestmark = pytest.mark.book

HW = 28 * 28


@pytest.fixture
def value(glued):
    return lambda name: glued(CHAPTER, name)


def test_naive_inception_module(value):
    assert value("naive_out_shape") == "28x28x672"
    expected = HW * 128 * 1 * 1 * 256 + HW * 192 * 3 * 3 * 256 + HW * 96 * 5 * 5 * 256
    assert value("naive_macs") == expected == 854_196_224  # the lecture's 854M


def test_bottleneck_inception_module(value):
    assert value("bottleneck_out_shape") == "28x28x480"
    slide_terms = [
        HW * 64 * 256, HW * 64 * 256, HW * 128 * 256,
        HW * 192 * 3 * 3 * 64, HW * 96 * 5 * 5 * 64, HW * 64 * 256,
    ]
    assert value("bottleneck_macs") == sum(slide_terms) == 271_351_808
    assert value("slide_terms_sum") == 271_351_808
    # The slide's "358M" is its sum with 128 channels into the 3x3 convolution.
    assert round(value("slide_358_variant") / 1e6) == 358
    assert value("inception_3b_macs") == 304_267_264
    assert value("bottleneck_params") < value("naive_params") / 3


def test_full_network(value):
    assert value("googlenet_params") == 6_624_904
    assert value("googlenet_macs") == pytest.approx(1.5e9, rel=0.01)
    assert value("googlenet_before_avgpool") == "7x7x1024"
    assert value("vgg16_macs") == 15_470_264_320
    assert value("googlenet_paper_weights") == 6_990_272
    assert value("googlenet_paper_conv_weights") == 5_966_272


def test_global_average_pooling(value):
    assert value("fc_after_flatten_weights") == 7 * 7 * 1024 * 1000 == 50_176_000
    assert value("fc_after_gap_weights") == 1024 * 1000


def test_auxiliary_classifiers(value):
    assert value("googlenet_aux_params") == 13_004_888
    assert value("googlenet_aux_heads_params") == 13_004_888 - 6_624_904
