"""The documentation site builds with warnings as errors, and its API reference lists every public
name of cr, cr.nn, cr.optim, cr.optimize, cr.linalg, cr.inspect and cr.train (generated from
the modules' __all__ by tools/mkdocs_hooks.py, so this compares the site with the exports)."""

import importlib
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest
from tools import notebooks as nbtools

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")
pytest.importorskip("material")

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = ["chainrule", "chainrule.nn", "chainrule.optim", "chainrule.optimize",
           "chainrule.linalg", "chainrule.inspect", "chainrule.train"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built by `mkdocs build --strict`, with the notebooks the test suite executed."""
    from tests.test_notebooks import executed

    done = tmp_path_factory.mktemp("executed")
    for path in nbtools.NOTEBOOKS:  # executed once per session, shared with test_notebooks
        nb, _, _ = executed(path, tmp_path_factory)
        nbtools.write(nb, done / f"{path.stem}.ipynb")
    out = tmp_path_factory.mktemp("site")
    import chainrule

    src = str(pathlib.Path(chainrule.__file__).resolve().parent.parent)
    env = dict(os.environ, CHAINRULE_EXECUTED_NOTEBOOKS=str(done), NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-6000:]}"
    assert not (ROOT / "site").exists() or (ROOT / "site").stat().st_mtime < start
    return out, seconds, run.stderr


def test_strict_build_has_no_warnings(site):
    out, seconds, log = site
    assert "WARNING" not in log and "ERROR" not in log
    print(f"mkdocs build --strict: {seconds:.1f} s")


@pytest.mark.parametrize("module", MODULES)
def test_api_reference_lists_every_public_name(site, module):
    out, _, _ = site
    page = (out / "api" / f"{module}.html").read_text()
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    names = sorted(set(importlib.import_module(module).__all__))
    missing = [n for n in names if f"{module}.{n}" not in ids]
    assert not missing, f"{module}: not in the API reference: {missing}"
    index = (out / "api" / "index.html").read_text()
    assert all(f'href="{module}.html#{module}.{n}"' in index for n in names)


def test_api_entries_carry_the_docstrings(site):
    out, _, _ = site
    nn_page = (out / "api" / "chainrule.nn.html").read_text()
    import chainrule as cr

    first = cr.nn.Linear.__doc__.strip().splitlines()[0]
    assert re.sub(r"\s+", " ", first)[:40] in re.sub(r"<[^>]+>|\s+", " ", nn_page)
    page = (out / "api" / "chainrule.html").read_text()
    assert 'id="chainrule.exp"' in page and "exp" in page


def test_notebooks_are_rendered_with_their_outputs(site):
    out, _, _ = site
    for path in nbtools.NOTEBOOKS:
        page = (out / "notebooks" / f"{path.stem}.html").read_text()
        assert "data:image/png;base64," in page, path.name  # the plots
    first = (out / "notebooks" / f"{nbtools.NOTEBOOKS[0].stem}.html").read_text()
    assert "Chain rule for L with respect to w1, w2" in first and "<svg" in first


def test_user_guide_and_getting_started(site):
    out, _, _ = site
    for md in (ROOT / "docs").glob("*.md"):
        assert (out / f"{md.stem}.html").exists(), md.name
    import html

    start = html.unescape(re.sub(r"<[^>]+>", "", (out / "getting-started.html").read_text()))
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", readme, re.S).group(1)
    assert command in start
    assert "chainrule train" in start
