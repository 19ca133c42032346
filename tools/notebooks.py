"""Execute the jupytext notebooks in notebooks/ (small sizes) and save them as .ipynb with outputs.

    python tools/notebooks.py OUT_DIR [--full] [NAME ...]

The test suite (tests/test_notebooks.py) and the documentation build (tools/mkdocs_hooks.py)
both use `execute`; the kernel imports the same chainrule as the caller, plots inline.
"""

import contextlib
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.joinpath("notebooks").glob("[0-9][0-9]_*.py"))


@contextlib.contextmanager
def _kernel_env(quick):
    """The kernel's environment: this chainrule first on PYTHONPATH, inline plots, quick mode."""
    import chainrule

    saved = dict(os.environ)
    src = str(pathlib.Path(chainrule.__file__).resolve().parent.parent)
    os.environ["PYTHONPATH"] = os.pathsep.join([src] + [p for p in saved.get("PYTHONPATH", "")
                                                        .split(os.pathsep) if p])
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.pop("CHAINRULE_QUICK", None)
    if quick:
        os.environ["CHAINRULE_QUICK"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path, cwd, quick=True, timeout=300):
    """The notebook at `path` (a jupytext percent script) executed in `cwd`: (notebook, seconds).

    Raises nbclient's CellExecutionError (with the failing cell and traceback) when a cell fails.
    """
    import jupytext
    import nbclient

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    start = time.perf_counter()
    with _kernel_env(quick):
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}).execute()
    return nb, time.perf_counter() - start


def write(nb, path):
    """Save an executed notebook as .ipynb (written whole: temporary file, then renamed)."""
    import nbformat

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, path)
    return path


def main(argv):
    out = pathlib.Path(argv[0])
    quick = "--full" not in argv
    names = [a for a in argv[1:] if not a.startswith("--")]
    for path in NOTEBOOKS:
        if names and not any(n in path.name for n in names):
            continue
        nb, seconds = execute(path, out, quick)
        write(nb, out / f"{path.stem}.ipynb")
        print(f"{path.name}: {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
