"""Refresh the example output in docs/DIAGNOSE.md: run its code block, write what it prints.

    python tools/diagnose_docs.py          # rewrites the ```text block after the code
    python tools/diagnose_docs.py --check  # exit 1 if the block is out of date
"""

import contextlib
import io
import pathlib
import re
import sys

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "DIAGNOSE.md"
CODE = "<!-- diagnose-example:code -->\n```python\n"
OUTPUT = "<!-- diagnose-example:output -->\n```text\n"


def example_code(text):
    """The Python block under the code marker."""
    start = text.index(CODE) + len(CODE)
    return text[start:text.index("```", start)]


def run(code):
    """What the code prints (warnings silenced: the broken net overflows on purpose)."""
    import warnings

    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        exec(compile(code, str(DOC), "exec"), {"__name__": "__diagnose_example__"})
    return out.getvalue()


def refreshed(text):
    """The document with the output block replaced by a fresh run of the code block."""
    start = text.index(OUTPUT) + len(OUTPUT)
    end = text.index("```", start)
    return text[:start] + run(example_code(text)) + text[end:]


def main():
    text = DOC.read_text()
    new = refreshed(text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else 1)
    DOC.write_text(new)
    count = len(re.findall(r"^\[(?:error|warning|info)\]", new, re.M))
    print(f"wrote {DOC} ({count} findings in the example)")


if __name__ == "__main__":
    main()
