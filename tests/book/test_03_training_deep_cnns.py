"""The numbers that chapter 3 (training deep CNNs) computes and states."""

from __future__ import annotations

import math

import pytest

CHAPTER = "03_training_deep_cnns"
pytestmark = pytest.mark.book


@pytest.fixture
def value(glued):
    return lambda name: glued(CHAPTER, name)


def test_small_init_activations_collapse_to_zero(value):
    # 0.01 * N(0, 1) on 500 inputs: the std shrinks by sqrt(500 * 1e-4) ~ 0.22 per layer.
    assert value("small_init_std_layer1") == pytest.approx(math.sqrt(0.05), rel=0.1)
    assert value("small_init_std_layer10") < 1e-5
    assert value("small_init_grad_std_layer1") < 1e-3 * value("xavier_tanh_grad_std_layer1")


def test_large_init_saturates_tanh(value):
    assert value("large_init_saturated_fraction") > 0.85
    assert value("large_init_grad_ratio") > 100


def test_xavier_and_kaiming_keep_the_scale(value):
    assert 0.1 < value("xavier_tanh_std_layer10") < 0.5
    assert value("xavier_relu_std_layer10") < 0.1  # Xavier loses sqrt(2) per ReLU layer
    assert 0.6 < value("kaiming_relu_std_ratio") < 1.5


def test_init_on_digits(value):
    assert value("digits_test_error_small") > 0.8  # chance is 90%
    assert value("digits_test_error_large") > 0.5
    assert value("digits_test_error_xavier") < 0.3
    assert value("digits_test_error_small_bn") < 0.5


def test_batchnorm_running_statistics(value):
    assert value("bn_running_mean_error") < 1e-6
    assert value("bn_running_var_error") < 1e-6
    assert value("bn_train_eval_diff_1_step") > 1.0
    assert value("bn_train_eval_diff_60_steps") < 0.5
    assert value("bn_batch_dependence_train") > 0.1
    assert value("bn_batch_dependence_eval") == 0.0


def test_batchnorm_folds_into_conv(value):
    assert value("bn_fold_max_abs_diff") < 1e-5


def test_optimizers_on_the_quadratic(value):
    sgd = value("opt_final_loss_sgd")
    assert value("opt_final_loss_momentum") < sgd / 100
    assert value("opt_final_loss_adagrad") < sgd
    assert value("opt_final_loss_rmsprop") < sgd


def test_adam_bias_correction(value):
    expected = 0.1 / math.sqrt(0.001)
    assert value("adam_uncorrected_first_step_ratio") == pytest.approx(expected, rel=1e-4)
    assert value("adam_uncorrected_max_ratio") == pytest.approx(6.57, abs=0.01)
    assert value("adam_uncorrected_max_ratio_step") == 12
    assert value("adam_torch_first_step") == pytest.approx(0.1, rel=1e-5)


def test_learning_rate_schedules(value):
    assert value("lr_step_epoch29") == pytest.approx(0.1)
    assert value("lr_step_epoch30") == pytest.approx(0.01)
    assert value("lr_step_epoch60") == pytest.approx(0.001)
    assert value("lr_cosine_epoch45") == pytest.approx(0.05)
    assert value("lr_warmup_epoch0") == pytest.approx(0.01)
    assert value("lr_warmup_epoch5") == pytest.approx(0.1)
