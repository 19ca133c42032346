"""Render an explain() derivation as plain text, Markdown or LaTeX."""

import re


def render(doc, fmt):
    """The derivation `doc` (built by explain) in the format `fmt`, as a Derivation string."""
    return Derivation({"text": _text, "markdown": _markdown, "latex": _latex}[fmt](doc), doc)


class Derivation(str):
    """explain()'s text (a str), which a notebook displays typeset (HTML, Markdown, LaTeX)."""

    def __new__(cls, text, doc):
        self = super().__new__(cls, text)
        self.doc = doc
        return self

    def __reduce__(self):  # pickles (and copies) with its derivation
        return (Derivation, (str(self), self.doc))

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.derivation_html(self.doc)

    def _repr_markdown_(self):
        return _markdown(self.doc)

    def _repr_latex_(self):
        return "$$" + "\n".join(line for line in _latex(self.doc).splitlines()
                                 if not line.startswith("%")) + "$$"


def _title(doc):
    wrt = ", ".join(doc["wrt"]) or "nothing"
    return f"Chain rule for {doc['output']} with respect to {wrt}"


# ---- plain text -----------------------------------------------------------------------------
def _text(doc):
    out = [_title(doc), "", "Forward pass"]
    width = max((len(f"{n} = {e}") for _, n, e, _ in doc["forward"]), default=0)
    for i, name, expr, value in doc["forward"]:
        out.append(f"  {i:>2}. {f'{name} = {expr}':<{width}}  = {value}")
    if "note" in doc:
        return "\n".join(out + ["", doc["note"]]) + "\n"
    out += ["", f"Backward pass (local derivative × upstream gradient; d{doc['output']}/"
            f"d{doc['output']} = 1)"]
    for i, name, expr, rule, up, rows in doc["backward"]:
        out.append(f"  {i:>2}. {name} = {expr}    [{rule}]")
        out.append(f"        upstream {up}")
        for sym, formula, local, target, factors, product, acc in rows:
            sep = ":" if formula is not None and formula.startswith("vjp") else " ="
            lhs = sym if formula is None else f"{sym}{sep} {formula}"
            if local is not None and formula is not None:
                lhs += f" = {local}"
            elif local is not None:
                lhs = f"{sym} = {local}"
            rhs = f"{target} {'+=' if acc else '='} "
            rhs += f"{factors} = {product}" if factors else product
            out.append(f"        {lhs}  ->  {rhs}")
    out += ["", "Gradients"]
    for sym, value in doc["grads"]:
        out.append(f"  {sym} = {value}")
    if doc["chains"]:
        out += ["", "Chain rule, leaf by leaf"]
        for chain in doc["chains"]:
            out += _text_chain(chain)
    for step in doc["steps"]:
        out += [""] + _text_step(step, doc["output"])
    return "\n".join(out) + "\n"


def _chain_terms(chain):
    return [" · ".join(seg[0] for seg in path) for path in chain["paths"]]


def _text_chain(chain):
    if not chain["paths"]:
        return [f"  {chain['symbol']} = {chain['value']}  ({chain['note']})"]
    terms = _chain_terms(chain)
    if len(terms) == 1 and len(chain["paths"][0]) == 1:
        (sym, formula, value), = chain["paths"][0]
        return [f"  {chain['symbol']} = {_eq(formula, value)}"]
    if len(terms) == 1:
        path = chain["paths"][0]
        lines = [f"  {chain['symbol']} = {terms[0]}"]
        lines += [f"      {sym} = {_eq(formula, value)}" for sym, formula, value in path]
        return lines + [f"    {chain['symbol']} = {_times(path)} = {chain['value']}"]
    lines = [f"  {chain['symbol']} = sum over {len(terms)} paths"]
    for k, path in enumerate(chain["paths"]):
        formulas = " · ".join(f if len(path) == 1 else _wrap_sum(f) for _, f, _ in path)
        prefix = "" if len(path) == 1 else f"{' · '.join(s for s, _, _ in path)} = "
        lines.append(f"      path {k + 1}: {prefix}{formulas} = {_times(path, True)}")
    products = [_product([v for _, _, v in path]) for path in chain["paths"]]
    total = " + ".join(_neg(p) if k else p for k, p in enumerate(products))
    return lines + [f"    {chain['symbol']} = {total} = {chain['value']}"]


def _wrap_sum(f):
    """Parenthesise f when it is a sum or difference at the top level."""
    depth = 0
    for i, ch in enumerate(f):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i > 0 and f[i - 1:i + 2] in (" + ", " - "):
            return f"({f})"
    return f


def _neg(v):
    return f"({v})" if v.startswith("-") else v


def _times(path, product=False):
    values = [v for _, _, v in path]
    if len(values) == 1:
        return values[0]
    text = " × ".join(_neg(v) if k else v for k, v in enumerate(values))
    return text + f" = {_product(values)}" if product else text


def _product(values):
    from chainrule.inspect._trace import fmt_num

    p = 1.0
    for v in values:
        p *= float(v)
    return fmt_num(p)


def _eq(formula, value):
    try:
        same = float(formula) == float(value)
    except ValueError:
        same = formula == value
    return value if same else f"{formula} = {value}"


def _text_step(step, output):
    kind = "ascent" if step["maximize"] else "descent"
    rule = f"w {'+' if step['maximize'] else '-'} lr · d{output}/dw"  # d(the output)/dw
    out = [f"Gradient {kind} step, lr = {step['lr']}: w <- {rule}"]
    for name, expr, value in step["rows"]:
        out.append(f"  {name} = {expr} = {value}")
    out.append("  Verification: the forward pass again with the new values")
    for i, name, expr, value in step["replay"]:
        out.append(f"    {i:>2}. {name} = {expr} = {value}")
    out.append(f"  {output}: {step['before']} -> {step['after']} (change {step['change']})")
    return out


# ---- Markdown -------------------------------------------------------------------------------
def _markdown(doc):
    out = [f"### {_title(doc)}", "", "**Forward pass**", "", "| # | value | formula |",
           "|---|---|---|"]
    for i, name, expr, value in doc["forward"]:
        out.append(f"| {i} | `{name} = {value}` | `{name} = {expr}` |")
    if "note" in doc:
        return "\n".join(out + ["", doc["note"]]) + "\n"
    out += ["", f"**Backward pass** (local derivative × upstream gradient; "
            f"`d{doc['output']}/d{doc['output']} = 1`)", "",
            "| # | op | local derivative | upstream | product |", "|---|---|---|---|---|"]
    for i, name, expr, _, up, rows in doc["backward"]:
        op = f"`{name} = {expr}`"
        for sym, formula, local, target, factors, product, acc in rows:
            local_s = " = ".join(p for p in (sym, formula, local) if p)
            rhs = f"{target} {'+=' if acc else '='} " + (f"{factors} = {product}" if factors
                                                         else product)
            out.append(f"| {i} | {op} | `{local_s}` | `{up}` | `{rhs}` |")
            i, op = "", ""
    out += ["", "**Gradients**", ""]
    for sym, value in doc["grads"]:
        out.append(f"- `{sym} = {value}`")
    if doc["chains"]:
        out += ["", "**Chain rule, leaf by leaf**", ""]
        for chain in doc["chains"]:
            out += [f"- `{line.strip()}`" if k == 0 else f"  - `{line.strip()}`"
                    for k, line in enumerate(_text_chain(chain))]
    for step in doc["steps"]:
        lines = _text_step(step, doc["output"])
        out += ["", f"**{lines[0]}**", ""]
        out += [f"- `{line.strip()}`" for line in lines[1:]]
    return "\n".join(out) + "\n"


# ---- LaTeX ----------------------------------------------------------------------------------
_FUNCS = ("log", "exp", "tanh", "sin", "cos", "sqrt", "max", "min")


def _tex_name(name):
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    if re.fullmatch(r"[A-Za-z]", name) or re.fullmatch(r"\(?-?[\d.e+-]+\)?", name):
        return name
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def _tex(expr):
    """A formula or value written for LaTeX: w1 -> w_{1}, * -> cdot, dL/dz -> partial fraction."""
    expr = re.sub(r"\bd([\w.]+)/d([\w.]+)\b",
                  lambda m: rf"\frac{{\partial {_tex_name(m.group(1))}}}"
                            rf"{{\partial {_tex_name(m.group(2))}}}", expr)
    expr = re.sub(r"(?<![\\{\w])([A-Za-z]+)(\d+)\b", r"\1_{\2}", expr)
    expr = re.sub(r"\^\(([^()]*)\)", r"^{(\1)}", expr)
    expr = re.sub(r"\^([\w.]+)", r"^{\1}", expr)
    for f in _FUNCS:
        expr = re.sub(rf"(?<![\\\w]){f}\b", rf"\\{f}", expr)
    return (expr.replace("·", r"\cdot").replace("×", r"\times").replace(" * ", r" \cdot ")
            .replace("->", r"\to").replace("+=", r"\mathrel{+}="))


def _latex(doc):
    out = [r"% " + _title(doc), r"\begin{aligned}", r"&\textbf{Forward pass} \\"]
    for _, name, expr, value in doc["forward"]:
        out.append(rf"{_tex(name)} &= {_tex(expr)} = {_tex(value)} \\")
    if "note" in doc:
        return "\n".join(out + [r"\end{aligned}", "% " + doc["note"]]) + "\n"
    out.append(r"&\textbf{Backward pass} \\")
    for _, _, _, _, up, rows in doc["backward"]:
        for sym, formula, local, target, factors, product, acc in rows:
            local_s = " = ".join(p for p in (sym, formula, local) if p)
            rhs = f"{factors} = {product}" if factors else product
            eq = r"\mathrel{+}=" if acc else "="
            out.append(rf"{_tex(target)} &{eq} {_tex(rhs)} "
                       rf"&& {_tex(local_s)},\ {_tex(up)} \\")
    out.append(r"&\textbf{Gradients} \\")
    for sym, value in doc["grads"]:
        out.append(rf"{_tex(sym)} &= {_tex(value)} \\")
    if doc["chains"]:
        out.append(r"&\textbf{Chain rule} \\")
    for chain in doc["chains"]:
        terms = [[r" \cdot ".join(_tex(part[k]) for part in path) for path in chain["paths"]]
                 for k in (0, 1)]
        values = [r" \times ".join(v for _, _, v in path) for path in chain["paths"]]
        parts = [" + ".join(t) for t in terms] + [" + ".join(values), _tex(chain["value"])]
        parts = [p for k, p in enumerate(parts) if p and p != _tex(chain["symbol"])
                 and (k == 0 or p != parts[k - 1])]
        out.append(rf"{_tex(chain['symbol'])} &= {' = '.join(parts)} \\")
    for step in doc["steps"]:
        sign = "+" if step["maximize"] else "-"
        out.append(rf"&\textbf{{Step}}\ \eta = {step['lr']}:\ w \leftarrow w {sign} \eta\,"
                   rf"\partial L / \partial w \\")
        for name, expr, value in step["rows"]:
            out.append(rf"{_tex(name)} &= {_tex(expr)} = {_tex(value)} \\")
        out.append(rf"{_tex(doc['output'])} &= {_tex(step['before'])} \to "
                   rf"{_tex(step['after'])} \\")
    out.append(r"\end{aligned}")
    return "\n".join(out) + "\n"
