"""MkDocs hooks: generate what must never drift from the code, at build time.

- the navigation: home, getting started, the user guide (every docs/*.md), the notebooks, the API
  reference;
- getting-started.md: the README's install, test and quick-start sections, verbatim;
- the API reference: one page per module (cr, cr.nn, cr.optim, cr.optimize, cr.linalg,
  cr.inspect, cr.train), one mkdocstrings entry per name in the module's ``__all__``, so names
  added by later work appear without editing any page; api/index.md lists them all;
- the notebooks: notebooks/NN_*.py executed at small sizes (tools/notebooks.py) and rendered
  with their outputs by mkdocs-jupyter. With CHAINRULE_EXECUTED_NOTEBOOKS=DIR, the executed
  .ipynb files already in DIR are used instead (the test suite executes them once for both).
"""

import importlib
import logging
import os
import pathlib
import re
import sys
import tempfile

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import notebooks as nbtools  # noqa: E402

MODULES = {"chainrule": "cr", "chainrule.nn": "cr.nn", "chainrule.optim": "cr.optim",
           "chainrule.optimize": "cr.optimize", "chainrule.linalg": "cr.linalg",
           "chainrule.inspect": "cr.inspect", "chainrule.train": "cr.train"}
README_SECTIONS = ("Install and run", "Run the tests", "Quick start")
_TMP = []


def public_names(module):
    """The names a module exports (its __all__), sorted."""
    return sorted(set(importlib.import_module(module).__all__))


def _ours(obj):
    """True for a function, class or module defined in chainrule (mkdocstrings documents it)."""
    import inspect

    if inspect.ismodule(obj):
        return obj.__name__.startswith("chainrule")
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return getattr(obj, "__module__", "").startswith("chainrule")
    return False


def _plain_entry(module, name, obj):
    """An entry for a name that is not chainrule code (a dtype, a NumPy alias, an instance)."""
    what = obj.__name__ if hasattr(obj, "__name__") else repr(obj)
    origin = getattr(obj, "__module__", None) or type(obj).__module__
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    line = doc[0] if doc and not isinstance(obj, (int, float, str)) else ""
    return [f"### `{name}` {{ #{module}.{name} }}", "",
            f"`{MODULES[module]}.{name}` is `{origin}.{what}`"
            f"{' (' + type(obj).__name__ + ')' if not callable(obj) else ''}. {line}".rstrip(),
            ""]


def api_page(module):
    """Markdown for one module: its docstring, then an entry per exported name."""
    mod = importlib.import_module(module)
    lines = [f"# `{MODULES[module]}`: {module}", "",
             f"::: {module}", "    options:", "      members: false",
             "      show_root_heading: false", ""]
    for name in public_names(module):
        obj = getattr(mod, name)
        if not _ours(obj):
            lines += _plain_entry(module, name, obj)
            continue
        defined = obj.__name__ if type(obj).__name__ == "module" else \
            f"{obj.__module__}.{obj.__qualname__}"
        if defined != f"{module}.{name}":  # e.g. cr.train.fit (a function) vs the module fit.py
            lines += [f'<a id="{module}.{name}"></a>', ""]
        lines += [f"::: {defined}"]
        if type(obj).__name__ == "module":
            lines += ["    options:", "      members: false"]
        lines.append("")
    return "\n".join(lines)


def api_index():
    lines = ["# API reference", "",
             "Every public name of each module (its `__all__`), generated when the site is "
             "built. Each entry shows the signature and the docstring, which states the formula.",
             ""]
    for module, short in MODULES.items():
        page = f"{module}.md"
        names = public_names(module)
        lines += [f"## [`{short}`]({page}) ({len(names)} names)", "",
                  ", ".join(f"[`{n}`]({page}#{module}.{n})" for n in names), ""]
    return "\n".join(lines)


def getting_started():
    """The README's install, test and quick-start sections, links rewritten for the site."""
    text = (ROOT / "README.md").read_text()
    out = ["# Getting started", ""]
    for title in README_SECTIONS:
        m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
        if m is None:
            raise RuntimeError(f"mkdocs_hooks: README.md has no section '## {title}'")
        body = m.group(1).replace("<!-- test-command -->\n", "")
        body = re.sub(r"\]\(docs/([A-Z_]+\.md)\)", r"](\1)", body)
        body = re.sub(r"\[([^\]]+)\]\((?!https?:|#)([^)]+)\)", _repo_link, body)
        out += [f"## {title}", "", body.strip(), ""]
    out += ["The notebooks in the navigation teach the course step by step; "
            "[NOTEBOOKS.md](NOTEBOOKS.md) says how to run them yourself.", ""]
    return "\n".join(out)


def _repo_link(m):
    """A link to a file of the repository (not part of the site) becomes its path in code."""
    text, target = m.group(1), m.group(2)
    if target.endswith(".md") and "/" not in target:
        return m.group(0)
    return text if text.strip("`") == target else f"{text} (`{target}`)"


def _executed_notebooks():
    """A folder holding notebooks/NN_*.ipynb executed: copied from CHAINRULE_EXECUTED_NOTEBOOKS
    where that folder has them, else run now (small sizes)."""
    import shutil

    given = os.environ.get("CHAINRULE_EXECUTED_NOTEBOOKS")
    tmp = tempfile.TemporaryDirectory(prefix="chainrule-docs-")
    _TMP.append(tmp)
    folder = pathlib.Path(tmp.name) / "notebooks"
    folder.mkdir()
    for path in nbtools.NOTEBOOKS:
        done = pathlib.Path(given) / f"{path.stem}.ipynb" if given else None
        if done is not None and done.exists():
            shutil.copy(done, folder / done.name)
        else:
            nb, _ = nbtools.execute(path, folder)
            nbtools.write(nb, folder / f"{path.stem}.ipynb")
    return folder.parent


def _title(stem):
    number, _, words = stem.partition("_")
    return f"{number} · {words.replace('_', ' ').capitalize()}"


class _PlainTextBrackets(logging.Filter):
    """Docstrings are plain text: out[i][j] is indexing, not a Markdown reference link. Drop
    autorefs' warning for such a 'target' (one that is not a dotted Python path)."""

    _MISSING = re.compile(r"Could not find cross-reference target '(.*)'$")

    def filter(self, record):
        m = self._MISSING.search(record.getMessage())
        return m is None or bool(re.fullmatch(r"[A-Za-z_]\w*(\.\w+)+", m.group(1)))


def _install_filter():
    for handler in logging.getLogger("mkdocs").handlers:  # incl. strict mode's warning counter
        if not any(isinstance(f, _PlainTextBrackets) for f in handler.filters):
            handler.addFilter(_PlainTextBrackets())


def on_config(config):
    _install_filter()
    guide = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md")
    config["nav"] = [
        {"Home": "index.md"},
        {"Getting started": "getting-started.md"},
        {"User guide": [{p[:-3].capitalize() if p[:-3].isupper() else p[:-3]: p}
                        for p in guide]},
        {"Notebooks": [{_title(p.stem): f"notebooks/{p.stem}.ipynb"}
                       for p in nbtools.NOTEBOOKS]},
        {"API reference": [{"Index": "api/index.md"}] +
         [{short: f"api/{module}.md"} for module, short in MODULES.items()]},
    ]
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which picks up the .ipynb files
def on_files(files, config):
    generated = {"getting-started.md": getting_started(), "api/index.md": api_index()}
    for module in MODULES:
        generated[f"api/{module}.md"] = api_page(module)
    for uri, text in generated.items():
        files.append(File.generated(config, uri, content=text))
    src = _executed_notebooks()
    for path in nbtools.NOTEBOOKS:  # real files (mkdocs-jupyter wraps them; generated ones fail)
        files.append(File(f"notebooks/{path.stem}.ipynb", str(src), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_post_build(config):
    while _TMP:
        _TMP.pop().cleanup()
