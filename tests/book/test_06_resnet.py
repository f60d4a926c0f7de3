"""Numbers that chapter 6 (ResNet) computes: degradation, ResNet sizes, bottleneck cost."""

import pytest

CH = "06_resnet"

pytestmark = pytest.mark.book


@pytest.mark.parametrize(
    ("depth", "params"),
    [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032), (101, 44_549_160), (152, 60_192_808)],
)
def test_resnet_parameters_and_depth(glued, depth, params):
    assert glued(CH, f"resnet{depth}_params") == params
    assert glued(CH, f"resnet{depth}_depth") == depth


@pytest.mark.parametrize(("depth", "paper"), [(18, 1.8), (34, 3.6)])
def test_basic_block_resnets_match_paper_flops(glued, depth, paper):
    assert glued(CH, f"resnet{depth}_gmacs") == pytest.approx(paper, abs=0.07)


@pytest.mark.parametrize(("depth", "paper"), [(50, 3.8), (101, 7.6), (152, 11.3)])
def test_stride_placement_explains_flops_gap(glued, depth, paper):
    v15 = glued(CH, f"resnet{depth}_gmacs")
    v1 = glued(CH, f"resnet{depth}_gmacs_v1")
    assert v15 - v1 == pytest.approx(0.231, abs=0.001)  # three 1x1 convs at 4x the positions
    assert v1 == pytest.approx(paper, abs=0.07)


def test_bottleneck_costs_17_vs_18_hwc2(glued):
    hwc2 = 56 * 56 * 64 * 64
    assert glued(CH, "bottleneck_macs") == 17 * hwc2
    assert glued(CH, "basic_macs") == 18 * hwc2
    assert glued(CH, "bottleneck_hwc2") == 17
    assert glued(CH, "basic_hwc2") == 18
    assert glued(CH, "bottleneck_block_params") == 17 * 64 * 64 + 2 * (64 + 64 + 256)
    assert glued(CH, "basic_block_params") == 18 * 64 * 64 + 2 * (64 + 64)


def test_deeper_plain_net_trains_worse(glued):
    assert glued(CH, "plain26_params") == glued(CH, "residual26_params")
    plain8, plain26 = glued(CH, "plain8_train_error"), glued(CH, "plain26_train_error")
    assert plain26 > plain8 + 0.10


def test_deeper_residual_net_does_not_degrade(glued):
    res8, res26 = glued(CH, "residual8_train_error"), glued(CH, "residual26_train_error")
    assert res26 <= res8 + 0.01
    assert res26 < glued(CH, "plain26_train_error") - 0.10


def test_preactivation_shortcut_is_identity(glued):
    assert glued(CH, "preactivation_identity_error") == 0
    assert glued(CH, "preactivation_blocked_gradient") == 0
    assert glued(CH, "original_identity_error") > 1
    assert 0.4 < glued(CH, "original_blocked_gradient") < 0.6
