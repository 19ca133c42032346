"""The op registry is the API's table of contents: every public op is in `cr` (or its
namespace) and on Tensor where it says so, and every Function subclass in chainrule is
exercised by a row of the op table (forward, backward and double backward) or listed in
EXEMPT with the reason and the test that covers it instead."""

import importlib
import pkgutil

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import mode
from chainrule.core.function import Function
from chainrule.ops import registry
from tests.core.op_table import OPS, draw

ON_DEVICES = {"ToDevice"}  # exempt, yet run by the rows on a non-CPU device
EXEMPT = {
    "MatMulInto": "MatMul writing into a grad sink's memory: tests/perf/test_fused_ops.py",
    "ToDevice": "a copy between devices: tests/test_devices.py (gradients come back)",
    "RandomDraw": "random: tests/core/test_compile.py (draws follow the seed)",
    "DropoutMask": "random: tests/nn/test_layers.py (dropout)",
    "StandardGamma": "random: tests/distributions/test_continuous.py (implicit gradients)",
    "GammaSampleDerivative": "random: tests/distributions/test_continuous.py",
    "EMDPlan": "a linear program: tests/info/test_transport.py against POT",
    "EMDCost": "its plan comes from EMDPlan: tests/info/test_transport.py (gradient = plan)",
    "Close": "boolean result (isclose): tests/compat/test_ops_compat.py",
    "Count": "integer counts (bincount, histc): tests/compat/test_ops_compat.py",
    "Bucket": "integer positions (searchsorted, bucketize): tests/compat/test_ops_compat.py",
    "NonZero": "a data-dependent shape cr.compile cannot replay: tests/compat/test_ops_compat.py",
    "Unique": "distinct values and counts (unique): tests/compat/test_ops_compat.py",
}


def _all_modules():
    import chainrule

    for info in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


def _subclasses(cls):
    out = set()
    for sub in cls.__subclasses__():
        out.add(sub)
        out |= _subclasses(sub)
    return out


class _Recorder(mode.Interceptor):
    def __init__(self):
        self.seen = set()

    def forward(self, fn, inputs, arrays, raw, many):
        self.seen.add(type(fn))


def _exercise(row, recorder):
    rng = np.random.default_rng(0)
    xs = [cr.tensor(draw(s, d, rng), requires_grad=True)
          for s, d in zip(row.shapes, row.domain or ("real",) * len(row.shapes))]
    with mode.intercept(recorder):
        out = row.fn(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        total = sum((o * o).sum() for o in outs if o.requires_grad)
        if not isinstance(total, cr.Tensor):
            return
        grads = cr.autograd.grad(total, xs, create_graph=True, allow_unused=True)
        second = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
        if isinstance(second, cr.Tensor):
            second.backward()


def test_every_function_has_an_op_table_row_or_a_stated_exemption():
    _all_modules()
    recorder = _Recorder()
    for row in OPS:
        _exercise(row, recorder)
    defined = {c for c in _subclasses(Function)
               if c.__module__.startswith("chainrule.") and c.__name__ != "Nondifferentiable"}
    missing = sorted(c.__name__ for c in defined - recorder.seen if c.__name__ not in EXEMPT)
    assert not missing, f"Function classes no op-table row exercises: {missing}"
    # (on a device the rows move host labels with ToDevice, so it is exercised there too)
    stale = sorted(set(EXEMPT) - {c.__name__ for c in defined - recorder.seen} - ON_DEVICES)
    assert not stale, f"EXEMPT lists classes that are covered or gone: {stale}"


def test_every_registered_name_is_exported_and_every_method_installed():
    for (namespace, name), info in registry.REGISTRY.items():
        home = cr if not namespace else importlib.import_module(f"chainrule.{namespace}")
        if info.export:
            for public in (name,) + info.also:
                assert getattr(home, public) is info.fn, f"{namespace}.{public}"
                if home is cr:
                    assert public in cr.__all__, public
        for m in info.methods + info.properties + info.reflected:
            assert hasattr(cr.Tensor, m), m
    assert set(cr.ops.__all__) >= set(registry.exports())


def test_numpy_spelling_is_an_alias_of_torchs():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(axis=1, keepdims=True).tolist() == x.sum(dim=1, keepdim=True).tolist()
    assert cr.amax(x, axis=0).tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(TypeError, match="got both dim= and its alias axis="):
        x.sum(dim=0, axis=1)


def test_aliases_come_from_the_named_parameters_only():
    """Every op's parameter names (read from its code object) are inspect's, less *args and
    **kwargs; an op whose dims come as *dims (permute) gets no axis= alias, which could only
    have failed with an unexpected dims= keyword."""
    import inspect

    for key, info in registry.REGISTRY.items():
        fn = inspect.unwrap(info.fn)
        named = {n for n, p in inspect.signature(fn).parameters.items()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        assert set(registry._parameter_names(fn)) == named, key
    assert registry.REGISTRY[("", "permute")].aliases == {}
    with pytest.raises(TypeError, match="axis"):
        cr.permute(cr.ones(2, 3), axis=(1, 0))
    assert cr.permute(cr.ones(2, 3), 1, 0).shape == (3, 2)


def test_max_with_a_dim_returns_values_and_indices_as_torch():
    x = cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    values, indices = cr.max(x, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert type(x.max(dim=1)).__name__ == "max" and x.max(dim=1).indices.dtype == np.int64
    values.sum().backward()  # the gradient goes to the returned index (torch's rule)
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert cr.max(x).item() == 7.0 and cr.min(x, 0).values.tolist() == [1.0, 0.0, 2.0]
    np.testing.assert_array_equal(cr.max(x, cr.zeros(3)).numpy(), np.maximum(x.numpy(), 0))


def test_the_generated_op_listing_is_up_to_date():
    from tools.oplist import render

    with open("docs/OPS.md", encoding="utf-8") as f:
        assert f.read() == render(), "run python tools/oplist.py to regenerate docs/OPS.md"
