"""The tutorial-style training scripts of this folder and the harness that runs each on
PyTorch and, with only its imports renamed, on chainrule, from one shared initial state.

A script defines make_model() (a Module, or a dict of leaf tensors) and train(model) ->
losses; `port` renames its imports (import torch -> import chainrule as torch, from torch.x
import y -> from chainrule.x import y) and changes nothing else."""

import pathlib
import re

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = ("poly_regression", "mlp_classifier", "manual_tensors_lbfgs")


def port(source):
    """The script's text with torch's imports renamed to chainrule's; nothing else changes."""
    lines = []
    for line in source.splitlines():
        m = re.match(r"^(\s*)import torch((?:\.\w+)*)(?: as (\w+))?\s*$", line)
        if m:
            indent, sub, alias = m.groups()
            line = f"{indent}import chainrule{sub} as {alias or 'torch'}" if (sub and alias) \
                or not sub else f"{indent}import chainrule{sub}; import chainrule as torch"
        m = re.match(r"^(\s*)from torch((?:\.\w+)*) import (.*)$", line)
        if m:
            indent, sub, names = m.groups()
            line = f"{indent}from chainrule{sub} import {names}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def source(name, library):
    """The script's text for `library` ('torch' as written, 'chainrule' ported)."""
    text = (HERE / f"{name}.py").read_text(encoding="utf-8")
    return port(text) if library == "chainrule" else text


def load(name, library, run_name=None):
    """Execute the script (as `run_name`, e.g. '__main__') and return its namespace."""
    namespace = {"__name__": run_name or f"compat_script_{name}"}
    exec(compile(source(name, library), f"{name}.py ({library})", "exec"), namespace)
    return namespace


def state(model):
    """{name: ndarray} of a model (a Module's state_dict, or a dict of tensors)."""
    items = model.state_dict().items() if hasattr(model, "state_dict") else model.items()
    return {k: np.array(v.detach().numpy()) for k, v in items}


def set_state(model, init, torch):
    """Load {name: ndarray} into a model of the library `torch`."""
    if hasattr(model, "load_state_dict"):
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
        return
    with torch.no_grad():
        for k, v in init.items():
            model[k].copy_(torch.tensor(v))


def run(name, torch, init=None):
    """(initial state, losses) of the script on library `torch`, from `init` when given (else
    from the library's own initialisation under manual_seed(0))."""
    library = "torch" if torch.__name__ == "torch" else "chainrule"
    namespace = load(name, library)
    torch.manual_seed(0)
    model = namespace["make_model"]()
    if init is None:
        init = state(model)
    else:
        set_state(model, init, torch)
    return init, np.asarray(namespace["train"](model), dtype=np.float64)


def golden_arrays(torch):
    """{key: ndarray}: each script's initial state and its losses under torch."""
    out = {}
    for name in SCRIPTS:
        init, losses = run(name, torch)
        out.update({f"{name}:init/{k}": v for k, v in init.items()})
        out[f"{name}:losses"] = losses
    return out
