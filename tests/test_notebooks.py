"""Every notebook in notebooks/ executes at small sizes (CHAINRULE_QUICK=1) and asserts its key
numbers in its cells; each is a jupytext percent script, numbered in the course's order."""

import pathlib
import re

import pytest
from tools import notebooks as nbtools

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ORDER = ["01_functions_and_the_chain_rule", "02_linear_algebra", "03_calculus",
         "04_probability_and_information", "05_optimization", "06_training_an_mlp", "07_cnns",
         "08_sequence_models_and_attention", "09_generative_models"]
_RUNS = {}


def executed(path, tmp_path_factory):
    """(notebook, seconds, cwd) of one execution per session (the docs test reuses it)."""
    if path.name not in _RUNS:
        cwd = tmp_path_factory.mktemp(path.stem)
        nb, seconds = nbtools.execute(path, cwd)
        _RUNS[path.name] = (nb, seconds, cwd)
    return _RUNS[path.name]


def test_the_nine_notebooks_follow_the_course():
    assert [p.stem for p in nbtools.NOTEBOOKS] == ORDER
    for path in nbtools.NOTEBOOKS:
        text = path.read_text()
        assert "format_name: percent" in text and text.count("# %% [markdown]") >= 3, path.name
        assert len(re.findall(r"^assert |^    assert ", text, flags=re.M)) >= 3, path.name


@pytest.mark.parametrize("path", nbtools.NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_and_asserts_its_numbers(path, tmp_path_factory):
    nb, seconds, cwd = executed(path, tmp_path_factory)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no plot"
    assert seconds < 60, f"{path.name} took {seconds:.0f} s at small size"
    assert not [p for p in pathlib.Path(cwd).rglob("*") if p.is_file()], "wrote files"


def test_notebook_01_shows_seed_002s_derivation_typeset(tmp_path_factory):
    nb, _, _ = executed(nbtools.NOTEBOOKS[0], tmp_path_factory)
    html = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})]
    derivation = next(h for h in html if "Chain rule for L" in h)
    assert "1.5 × 2.0 = 3.0" in derivation and 'class="frac"' in derivation
    assert any("<svg" in h for h in html)  # the graph
