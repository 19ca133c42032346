"""The records of a trace: where an op's input comes from, and the four kinds of event.

Named tuples, so that the planner reads ``event.inputs`` rather than ``event[2]``.
"""

from typing import NamedTuple

# ---- where an array comes from ---------------------------------------------------------------


class Slot(NamedTuple):
    """The output of an earlier event of this trace (its slot number)."""

    k: int


class Arg(NamedTuple):
    """The array of the call's argument number i."""

    i: int


class Live(NamedTuple):
    """The current data of a tensor from outside the call (a parameter, a buffer, a state
    tensor): a replay reads it afresh."""

    tensor: object


class Const(NamedTuple):
    """An array computed outside chainrule ops (a constant, if it is the same in both traces)."""

    array: object


class ArgLeaf(NamedTuple):
    """A leaf tensor that is the call's argument number i (its gradient goes to the argument)."""

    i: int


# ---- events ------------------------------------------------------------------------------------


class OpEvent(NamedTuple):
    """fn.forward(*inputs) -> the arrays in `outputs` (slots); `raw`: it returned a NumPy scalar
    (wrapped with asarray); `many`: it returned a tuple; `shape_guard`: the outputs' shapes,
    when they depend on the input values (a boolean mask's count), else None."""

    fn: object
    inputs: tuple
    outputs: tuple
    raw: bool
    many: bool
    shape_guard: object = None


class LeafEvent(NamedTuple):
    """The engine handed gradient `grad` to leaf `leaf` (Live or ArgLeaf); t.grad's array is
    then the output `slot`; `fits`: the gradient had the leaf's shape and dtype."""

    leaf: object
    grad: object
    create_graph: bool
    slot: int
    fits: bool = False


class WriteEvent(NamedTuple):
    """kernel(target's array, value, *params): an in-place write named `op` into `tensor`."""

    op: str
    tensor: object
    target: object
    kernel: object
    value: object
    params: tuple


class EffectEvent(NamedTuple):
    """fn(*args, **kwargs) called again at every replay; the Tensor arguments (their positions
    and keywords with the Refs of their data) are fed from the replay; its Tensor result's array
    is the output `slot` (None if it returned no Tensor)."""

    fn: object
    args: tuple
    kwargs: dict
    tensor_args: tuple
    tensor_kwargs: tuple
    slot: object


def uses(event):
    """The Refs an event reads."""
    if type(event) is OpEvent:
        return list(event.inputs)
    if type(event) is LeafEvent:
        return [event.grad]
    if type(event) is WriteEvent:
        return [event.target] + ([event.value] if event.value is not None else [])
    return [r for _, r in event.tensor_args] + [r for _, r in event.tensor_kwargs]


def label(event):
    """A short name of the event, for messages."""
    if type(event) is OpEvent:
        return type(event.fn).__name__
    return {LeafEvent: "leaf gradient", WriteEvent: "in-place write",
            EffectEvent: "effect"}[type(event)]
