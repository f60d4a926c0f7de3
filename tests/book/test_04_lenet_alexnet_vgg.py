"""The numbers that chapter 4 (LeNet-5, AlexNet, ZFNet, VGG) computes and states."""

from __future__ import annotations

import pytest

CHAPTER = "04_lenet_alexnet_vgg"
pytestmark = pytest.mark.book

# The lecture's VGG16 table: (row, activations per image, weights).
VGG16_LECTURE = [
    ("INPUT", 224 * 224 * 3, 0),
    ("CONV3-64", 224 * 224 * 64, (3 * 3 * 3) * 64),
    ("CONV3-64", 224 * 224 * 64, (3 * 3 * 64) * 64),
    ("POOL2", 112 * 112 * 64, 0),
    ("CONV3-128", 112 * 112 * 128, (3 * 3 * 64) * 128),
    ("CONV3-128", 112 * 112 * 128, (3 * 3 * 128) * 128),
    ("POOL2", 56 * 56 * 128, 0),
    ("CONV3-256", 56 * 56 * 256, (3 * 3 * 128) * 256),
    ("CONV3-256", 56 * 56 * 256, (3 * 3 * 256) * 256),
    ("CONV3-256", 56 * 56 * 256, (3 * 3 * 256) * 256),
    ("POOL2", 28 * 28 * 256, 0),
    ("CONV3-512", 28 * 28 * 512, (3 * 3 * 256) * 512),
    ("CONV3-512", 28 * 28 * 512, (3 * 3 * 512) * 512),
    ("CONV3-512", 28 * 28 * 512, (3 * 3 * 512) * 512),
    ("POOL2", 14 * 14 * 512, 0),
    ("CONV3-512", 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("CONV3-512", 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("CONV3-512", 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("POOL2", 7 * 7 * 512, 0),
    ("FC", 4096, 7 * 7 * 512 * 4096),
    ("FC", 4096, 4096 * 4096),
    ("FC", 1000, 4096 * 1000),
]


@pytest.fixture
def value(glued):
    return lambda name: glued(CHAPTER, name)


def test_lenet5(value):
    assert value("lenet5_params") == 61_706
    assert value("lenet5_digits_test_error") < 0.1


def test_alexnet_volumes_and_conv1(value):
    assert value("alexnet_volumes") == [
        "55x55x96", "27x27x96", "27x27x96", "27x27x256", "13x13x256", "13x13x256",
        "13x13x384", "13x13x384", "13x13x256", "6x6x256", "4096", "4096", "1000",
    ]
    assert value("alexnet_conv1_params") == 34_944 == 11 * 11 * 3 * 96 + 96
    assert value("alexnet_conv1_weights") == 34_848


def test_alexnet_parameter_totals(value):
    assert value("alexnet_params") == 62_378_344
    assert value("alexnet_two_gpu_params") == 60_965_224  # the paper's "60 million"
    assert value("torchvision_alexnet_params") == 61_100_840


def test_zfnet(value):
    assert value("zfnet_volumes") == [
        "110x110x96", "55x55x96", "55x55x96", "26x26x256", "13x13x256", "13x13x256",
        "13x13x512", "13x13x1024", "13x13x512", "6x6x512", "4096", "4096", "1000",
    ]
    assert value("zfnet_conv1_params") == 7 * 7 * 3 * 96 + 96
    assert value("zfnet_params") == 107_627_624


def test_three_3x3_vs_one_7x7(value):
    assert value("rf_three_3x3") == value("rf_one_7x7") == 7
    assert value("rf_three_3x3_paths_centre") == 49
    assert value("stack_3x3_params_c64") == 3 * 3**2 * 64**2 == 110_592
    assert value("single_7x7_params_c64") == 7**2 * 64**2 == 200_704


def test_vgg16_table_matches_the_lecture(value):
    assert value("vgg16_row_names") == [row[0] for row in VGG16_LECTURE]
    assert value("vgg16_row_memory") == [row[1] for row in VGG16_LECTURE]
    assert value("vgg16_row_weights") == [row[2] for row in VGG16_LECTURE]


def test_vgg16_totals(value):
    assert value("vgg16_params") == 138_357_544
    assert value("vgg16_weights") == 138_344_128
    assert value("vgg16_activations") == 15_237_608
    assert value("vgg16_activations_no_input") == 15_237_608 - 150_528
    assert value("vgg16_forward_mb") == pytest.approx(60.95, abs=0.01)
    assert value("vgg16_activations_with_relu") == 28_793_320
    assert value("vgg16_early_memory_share") == pytest.approx(0.42, abs=0.01)
    assert value("vgg16_fc_weight_share") == pytest.approx(0.89, abs=0.01)
    assert value("vgg16_fc6_weight_share") == pytest.approx(0.74, abs=0.01)
    assert value("vgg19_params") == 143_667_240
