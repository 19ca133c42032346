"""Rich display of Tensor in Jupyter, installed on the class from above (core knows nothing of
it); the HTML, Markdown and LaTeX are written by chainrule.inspect._repr, loaded on first use."""


def _repr_html_(self):
    from chainrule.inspect import _repr

    return _repr.tensor_html(self)


def _repr_markdown_(self):
    from chainrule.inspect import _repr

    return _repr.tensor_markdown(self)


def _repr_latex_(self):
    from chainrule.inspect import _repr

    return _repr.tensor_latex(self)


def install(cls):
    """Give `cls` (Tensor) the rich-display methods Jupyter looks for."""
    cls._repr_html_, cls._repr_markdown_, cls._repr_latex_ = (_repr_html_, _repr_markdown_,
                                                             _repr_latex_)
