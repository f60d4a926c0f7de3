"""Numbers that chapter 7 (efficient networks) computes: sizes, MACs, speed-ups, scaling."""

import pytest

CH = "07_efficient_networks"

pytestmark = pytest.mark.book

PARAMS = {
    "vgg11": 132_863_336,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "wide_resnet50_2": 68_883_240,
    "resnext50_32x4d": 25_028_904,
    "densenet121": 7_978_856,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_small": 2_542_856,
    "shufflenet_v2_x1_0": 2_278_604,
    "efficientnet_b0": 5_288_548,
}
# multiply-adds per 224x224 image as the papers report them ("FLOPs" = MACs there)
PAPER_GMACS = {
    "vgg11": 7.6,
    "resnet18": 1.8,
    "resnext50_32x4d": 4.2,
    "mobilenet_v2": 0.300,
    "mobilenet_v3_small": 0.056,
    "shufflenet_v2_x1_0": 0.146,
    "efficientnet_b0": 0.39,
}


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_parameter_counts(glued, name, params):
    assert glued(CH, f"{name}_params") == params
    assert glued(CH, f"{name}_ms") > 0


@pytest.mark.parametrize(("name", "gmacs"), PAPER_GMACS.items())
def test_macs_match_papers(glued, name, gmacs):
    assert glued(CH, f"{name}_gmacs") == pytest.approx(gmacs, rel=0.03)


def test_resnet50_macs_and_flops(glued):
    assert glued(CH, "resnet50_gmacs") == pytest.approx(4.089, abs=0.001)


def test_macs_do_not_predict_runtime(glued):
    mac_ratio = glued(CH, "r50_over_mnv3s_macs")
    assert mac_ratio == pytest.approx(4.089 / 0.0566, rel=0.02)
    assert 1 < glued(CH, "r50_over_mnv3s_time") < mac_ratio / 2


def test_grouped_convolution_divides_macs_by_groups(glued):
    macs = glued(CH, "grouped_macs")
    assert macs[1] == 56 * 56 * 128 * 128 * 9
    for g, m in macs.items():
        assert m * g == macs[1]


def test_squeeze_excitation_costs_under_one_percent(glued):
    assert glued(CH, "se_resnet50_params") == 28_088_024
    assert 0 < glued(CH, "se_compute_overhead") < 0.01
    assert all(0 < v < 0.01 for v in glued(CH, "se_stage_overhead").values())
    # MLPs of 3, 4, 6, 3 blocks on 256, 512, 1024, 2048 channels, C -> C/16 -> C
    assert glued(CH, "se_mlp_macs") == sum(
        n * 2 * c * (c // 16) for n, c in [(3, 256), (4, 512), (6, 1024), (3, 2048)]
    )


def test_densenet_growth(glued):
    assert glued(CH, "densenet_block1_channels") == [64 + 32 * i for i in range(6)]


def test_depthwise_separable_speedup(glued):
    macs = glued(CH, "separable_mac_ratio")
    times = glued(CH, "separable_time_ratio")
    assert set(macs) == {16, 32, 64, 128, 256, 512}
    for c, ratio in macs.items():
        assert ratio == pytest.approx(9 * c / (9 + c), abs=1e-5)
    assert times[16] < 0.5 * macs[16]  # narrow layers: overheads, not arithmetic


def test_mobilenet_v2(glued):
    assert glued(CH, "mnv2_pointwise_fraction") > 0.85
    assert glued(CH, "inverted_residual_channels") == [144, 144, 24]


def test_relu_destroys_information_in_low_dimensions(glued):
    recoverable = glued(CH, "relu_recoverable")
    assert recoverable[2] < 0.6
    assert recoverable[30] > 0.95


def test_channel_shuffle_order(glued):
    assert glued(CH, "shuffle_order") == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]


def test_compound_scaling(glued):
    assert glued(CH, "compound_step") == pytest.approx(1.2 * 1.1**2 * 1.15**2, abs=1e-4)
    assert glued(CH, "compound_step") == pytest.approx(1.92, abs=0.001)
    gmacs = glued(CH, "efficientnet_gmacs")
    paper = [0.39, 0.70, 1.0, 1.8, 4.2, 9.9, 19, 37]
    for ours, theirs in zip(gmacs, paper, strict=True):
        assert ours == pytest.approx(theirs, rel=0.06)


def test_design_guidelines(glued):
    chain, single = glued(CH, "two_3x3_vs_5x5")
    assert (chain, single) == (2 * (9 * 64 * 64 + 64), 25 * 64 * 64 + 64)
    assert glued(CH, "low_rank_exact") is True
