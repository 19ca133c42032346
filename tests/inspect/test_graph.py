"""to_dot: the graph as Graphviz DOT, checked against a golden file; SVG only where dot exists."""

import pytest

import chainrule as cr
from chainrule.inspect import dot_available, render_dot, to_dot
from tests.inspect.helpers import seed002
from tests.inspect.test_explain import check_golden


def test_seed002_dot_matches_golden():
    x, b1, b2, w1, w2, z, L = seed002()
    dot = to_dot(L)
    check_golden("seed002_graph.dot", dot)
    assert 'label="w1\\n0.5\\ndL/dw1 = 3.0"' in dot
    assert dot.count("->") == 12  # 4 ops, 2 inputs and 1 output each


def test_tensor_nodes_show_shape_and_norm():
    W = cr.ones(3, 4).requires_grad_()
    dot = to_dot((W * 2.0).sum())
    assert "shape (3, 4)" in dot and "norm 3.4641" in dot
    assert "dL/dW = norm 6.9282" in dot


def test_render_svg_when_graphviz_is_installed(tmp_path):
    if not dot_available():
        with pytest.raises(RuntimeError, match="render_dot: Graphviz's `dot` program"):
            render_dot("digraph {}", tmp_path / "g.svg")
        pytest.skip("Graphviz's dot is not installed")
    x, b1, b2, w1, w2, z, L = seed002()
    path = render_dot(to_dot(L), tmp_path / "g.svg")
    assert (tmp_path / "g.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert str(path).endswith("g.svg")
