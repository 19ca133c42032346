"""torch.nn.utils.parametrize: a tensor of a module computed from an unconstrained one.

`register_parametrization(module, "weight", P)` moves the weight to
module.parametrizations.weight.original (state_dict key `parametrizations.weight.original`,
as PyTorch) and makes `module.weight` a property that returns P(original) at every access, so
gradients flow to `original` through P. Assigning `module.weight = X` stores P.right_inverse(X)
(X itself when P has no right_inverse). As PyTorch, the module's class is swapped for a
generated subclass "Parametrized<Class>" that carries the property; removing the last
parametrization restores the class. `cached()` computes each parametrized tensor once inside
its block (one forward that reads a shared weight several times).
"""

import contextlib

from chainrule.core.mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.nn.layers.container import ModuleDict, ModuleList
from chainrule.nn.module import Module, Parameter

_cache = {"depth": 0, "values": {}}


@contextlib.contextmanager
def cached():
    """Inside this block each parametrized tensor is computed once and reused (PyTorch's
    parametrize.cached): saves the recomputation when a forward reads a weight several times."""
    _cache["depth"] += 1
    try:
        yield
    finally:
        _cache["depth"] -= 1
        if not _cache["depth"]:
            _cache["values"].clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to `original` (a Parameter, or a
    buffer when the tensor was one): forward() = P_k(...P_1(original))."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = self._inverse(original)
        if isinstance(original, Parameter):
            if new is not original:  # keep the Parameter object (optimizers may hold it)
                original.data = new._data.copy()
            self.register_parameter("original", original)
        else:
            self.register_buffer("original", new if new is not original else original)

    def _inverse(self, value):
        for m in reversed(list(self)):
            inv = getattr(m, "right_inverse", None)
            if inv is not None:
                value = inv(value)
                if not isinstance(value, Tensor):
                    raise TypeError(f"register_parametrization: {type(m).__name__}.right_inverse "
                                    f"must return a Tensor; got {type(value).__name__}")
        return value

    def right_inverse(self, value):
        """Store the `original` whose parametrized value is `value` (in place, no graph)."""
        value = value if isinstance(value, Tensor) else Tensor(value)
        with no_grad():
            new = self._inverse(value)
        if not self.unsafe and (new.shape != self.original.shape or
                                new.dtype != self.original.dtype):
            raise ValueError(f"parametrize: assigning a tensor whose right_inverse has shape "
                             f"{tuple(new.shape)} and dtype {new.dtype} to an original of shape "
                             f"{tuple(self.original.shape)} and dtype {self.original.dtype} "
                             "(register with unsafe=True to allow changes)")
        self.original.data = new._data.copy()

    def forward(self):
        x = self.original
        for m in self:
            x = m(x)
        return x


def _parametrized_setattr(self, name, value):
    plist = self.__dict__["_modules"].get("parametrizations")
    if plist is not None and name in plist._modules:
        plist[name].right_inverse(value)
    else:
        Module.__setattr__(self, name, value)


def _property(name):
    def get(self):
        plist = self.parametrizations[name]
        if not _cache["depth"]:
            return plist()
        key = (id(self), name)
        if key not in _cache["values"]:
            _cache["values"][key] = plist()
        return _cache["values"][key]

    def put(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(get, put, doc=f"{name}, computed by module.parametrizations.{name}")


def is_parametrized(module, tensor_name=None):
    """True when `module` has a parametrization (on `tensor_name`, if given)."""
    plist = module.__dict__.get("_modules", {}).get("parametrizations")
    if plist is None or not isinstance(plist, ModuleDict):
        return False
    return len(plist) > 0 if tensor_name is None else tensor_name in plist


def type_before_parametrizations(module):
    """The module's class before register_parametrization swapped it."""
    cls = type(module)
    return cls.__bases__[0] if getattr(cls, "_chainrule_parametrized", False) else cls


def register_parametrization(module, tensor_name, parametrization, unsafe=False):
    """Make module.<tensor_name> = parametrization(original), original stored at
    module.parametrizations.<tensor_name>.original; a second call on the same name chains
    (applied after the first). Returns the module.

    Unless unsafe=True, the parametrization must keep the tensor's shape and dtype.
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be a Module; got "
                        f"{type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        before = plist()
        after = parametrization(before)
        if not unsafe:
            _check_same("register_parametrization", tensor_name, before, after)
        plist.append(parametrization)
        plist.unsafe = plist.unsafe or unsafe
        _cache["values"].clear()
        return module
    d = module.__dict__
    if tensor_name in d["_parameters"]:
        original = d["_parameters"][tensor_name]
    elif tensor_name in d["_buffers"]:
        original = d["_buffers"][tensor_name]
    else:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no parameter or "
                         f"buffer {tensor_name!r}")
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is None")
    if not unsafe:
        _check_same("register_parametrization", tensor_name, original, parametrization(original))
    delattr(module, tensor_name)
    if not getattr(type(module), "_chainrule_parametrized", False):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,),
                                {"__setattr__": _parametrized_setattr,
                                 "_chainrule_parametrized": True,
                                 "__module__": cls.__module__})
    if "parametrizations" not in d["_modules"]:
        Module.__setattr__(module, "parametrizations", ModuleDict())
    module.parametrizations[tensor_name] = ParametrizationList([parametrization], original, unsafe)
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def _check_same(op, name, before, after):
    if not isinstance(after, Tensor):
        raise TypeError(f"{op}: the parametrization of {name!r} must return a Tensor; got "
                        f"{type(after).__name__}")
    if after.shape != before.shape or after.dtype != before.dtype:
        raise ValueError(f"{op}: the parametrization changes {name!r} from shape "
                         f"{tuple(before.shape)}, dtype {before.dtype} to shape "
                         f"{tuple(after.shape)}, dtype {after.dtype} (pass unsafe=True to allow)")


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo register_parametrization on `tensor_name`: the tensor becomes a plain parameter
    (or buffer) again, holding its current parametrized value (leave_parametrized=True) or
    the unconstrained original. The Parameter object `original` is kept. Returns the module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    original = plist.original
    if leave_parametrized:
        with no_grad():
            value = plist()
        if not plist.unsafe or (value.shape == original.shape and value.dtype == original.dtype):
            original.data = value._data.copy()
        elif isinstance(original, Parameter):
            original = Parameter(value._data.copy(), original.requires_grad)
        else:
            original = Tensor(value._data.copy())
    del module.parametrizations[tensor_name]
    delattr(type(module), tensor_name)
    _cache["values"].clear()
    if not len(module.parametrizations):
        del module.parametrizations
        module.__class__ = type(module).__bases__[0]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    return module


__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "type_before_parametrizations"]
