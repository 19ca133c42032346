"""detect_anomaly: the first non-finite forward or backward raises, naming op, shapes and site."""

import warnings

import pytest

import chainrule as cr
from chainrule.core import mode
from chainrule.inspect import AnomalyError, detect_anomaly


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own divide-by-zero warnings
        yield


def test_names_the_backward_of_log_at_zero():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly(check_forward=False):
        y = cr.log(x)  # the line the error points at
        y.sum().backward()
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: the backward of Log (y = log x) produced non-finite "
                          "values in its gradient for input 0; got 1 inf of 2 values")
    assert "input 0: shape (2,) float32, range [0, 1], 1 zeros" in msg
    assert "test_anomaly.py" in msg and "y = cr.log(x)  # the line the error points at" in msg
    assert "hint: log at 0" in msg and "logits" in msg
    assert isinstance(info.value, FloatingPointError)


def test_forward_is_checked_by_default():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(AnomalyError, match=r"the forward of Log .* 1 -inf of 2 values"), \
            detect_anomaly():
        cr.log(x)


def test_zero_times_inf_through_where_is_explained():
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly(check_forward=False):
        y = cr.where(x > 0, cr.log(x), cr.tensor(0.0))
        y.sum().backward()
    msg = str(info.value)
    assert "the backward of Log" in msg and "1 NaN of 2 values" in msg
    assert "0 * inf" in msg and "where" in msg


def test_exp_overflow_hint():
    x = cr.tensor([1.0, 100.0], requires_grad=True)
    with pytest.raises(AnomalyError, match="forward of Exp(.|\n)*hint: overflow"), \
            detect_anomaly():
        cr.exp(x)


def test_ops_created_outside_the_context_say_so():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = cr.log(x).sum()
    with pytest.raises(AnomalyError, match="created: outside detect_anomaly"), detect_anomaly():
        y.backward()


def test_state_is_restored_and_finite_graphs_pass():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly(), detect_anomaly(check_forward=False):
        assert len(mode.state.interceptors) == 2  # (the kernel's extension point)
        cr.log(cr.tensor([0.0], requires_grad=True))  # the inner context checks no forward
        cr.log(x).sum().backward()
    assert mode.state.interceptors == ()
    assert x.grad.numpy().tolist() == [1.0, 0.5]
    with pytest.raises(FloatingPointError):
        with detect_anomaly():
            cr.log(cr.tensor([-1.0], requires_grad=True))
    assert mode.state.interceptors == ()
    cr.log(cr.tensor([-1.0], requires_grad=True))  # nothing checks outside the context


def test_decorator_form():
    @detect_anomaly()
    def step(x):
        cr.sqrt(x).sum().backward()

    with pytest.raises(AnomalyError, match="the backward of Sqrt(.|\n)*hint: sqrt at 0"):
        step(cr.tensor([0.0, 4.0], requires_grad=True))
