"""Lines of code per package (non-blank, non-comment), so the growth of core/ stays visible.

    python tools/linecount.py
"""

import pathlib
import tokenize

ROOT = pathlib.Path(__file__).resolve().parent.parent / "src" / "chainrule"


def code_lines(path):
    lines = set()
    with open(path, "rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING,
                                tokenize.STRING, tokenize.INDENT, tokenize.DEDENT,
                                tokenize.ENDMARKER):
                lines.add(tok.start[0])
    return len(lines)


def main():
    totals = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        pkg = rel.parts[0] if len(rel.parts) > 1 else "(top)"
        totals[pkg] = totals.get(pkg, 0) + code_lines(path)
    width = max(len(k) for k in totals)
    for pkg, n in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{pkg:{width}s} {n:6d}")
    print(f"{'total':{width}s} {sum(totals.values()):6d}")


if __name__ == "__main__":
    main()
