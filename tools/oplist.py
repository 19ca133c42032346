"""Write docs/OPS.md: every registered op and Tensor method, generated from the op registry.

    python tools/oplist.py
"""

import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "OPS.md"


def _summary(fn):
    return (fn.__doc__ or "").strip().split("\n")[0].replace("|", "\\|")


def render():
    """The Markdown text of docs/OPS.md."""
    import chainrule  # noqa: F401  (imports every op family)
    from chainrule.ops import registry

    lines = ["# Ops and Tensor methods", "",
             "Generated from the op registry (`chainrule/ops/registry.py`) by "
             "`python tools/oplist.py`; a test keeps it current. Arguments take torch's "
             "spelling (`dim`, `keepdim`); NumPy's `axis`/`keepdims` are accepted as aliases "
             "where marked.", "",
             "| name | Tensor methods | returns | differentiable | what it computes |",
             "| --- | --- | --- | --- | --- |"]
    for (namespace, name), info in sorted(registry.REGISTRY.items()):
        if not info.export and not (info.methods or info.properties or info.reflected):
            continue
        public = ".".join(filter(None, ("cr", namespace, name))) if info.export else "-"
        names = ", ".join(f"`{m}`" for m in info.methods + info.reflected + info.properties)
        also = "".join(f" (also `{a}`)" for a in info.also)
        alias = " (axis=)" if info.aliases else ""
        lines.append(f"| `{public}`{also}{alias} | {names} | {info.returns} | "
                     f"{'yes' if info.differentiable else 'no'} | {_summary(info.fn)} |")
    return "\n".join(lines) + "\n"


def main():
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
