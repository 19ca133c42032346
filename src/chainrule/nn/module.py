"""Module and Parameter: the containers that hold a network's weights, with PyTorch's semantics.

Assigning a Parameter or a Module to an attribute registers it; `register_buffer` registers
state that is saved but not trained (BatchNorm's running statistics). Registration order is the
order of `parameters()`, `state_dict()` and the repr.
"""

from collections import OrderedDict, namedtuple

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, bump_version


class Parameter(Tensor):
    """A Tensor that is a module's trainable weight: requires grad, registered on assignment."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.zeros(0, dtype=_mode.state.default_dtype)
        super().__init__(data._data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self._data.copy(), self.requires_grad)
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return Parameter, (self._data, self.requires_grad)


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _move_in_place(t, dev, dtype):
    """t's data (and gradient) on dev and, for floating tensors, in dtype; t keeps its
    identity."""
    from chainrule._device import device_of, to_device

    a = t._data
    if dtype is not None and a.dtype.kind == "f" and a.dtype != dtype:
        a = a.astype(dtype)
    if dev is not None and device_of(a) != dev:
        a = to_device(a, dev)
    if a is not t._data:
        t._data = a  # (not .data =, which puts NumPy values on the tensor's current device)
        bump_version(t)
        if t.grad is not None:
            g = t.grad.detach()
            if dtype is not None and g.dtype.kind == "f":
                g = g.astype(dtype)
            t.grad = Tensor(to_device(g._data, dev)) if dev is not None else g


class Module:
    """Base class of layers and models: subclasses set attributes in __init__ and define forward.

        >>> import chainrule as cr
        >>> class Net(cr.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = cr.nn.Linear(2, 1)
        ...     def forward(self, x):
        ...         return self.fc(x).sigmoid()
        >>> [name for name, _ in Net().named_parameters()]
        ['fc.weight', 'fc.bias']
    """

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: forward() is not defined")

    def __call__(self, *args, **kwargs):
        for i in _mode.state.interceptors:  # (cr.compile: a replay is for this train/eval mode)
            i.module_call(self)
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out

    # ---- registration --------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign submodules before Module.__init__() call")
            self._forget(name)
            d["_modules"][name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} "
                                f"as parameter {name!r} (a Parameter or None is required)")
            params[name] = None
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} "
                                f"as child module {name!r} (a Module or None is required)")
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                value = Tensor(np.asarray(value))
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            d[key].pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register `param` (a Parameter or None) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None; got "
                            f"{type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register untrained state (Tensor, ndarray or None); state_dict saves it if persistent."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(np.asarray(tensor))
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register `module` (or None) as a child under `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None; got "
                            f"{type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def register_forward_hook(self, hook):
        """Call hook(module, args, output) after forward; a non-None result replaces the output."""
        return _Handle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        """Call hook(module, args) before forward; a non-None result replaces the arguments."""
        return _Handle(self._forward_pre_hooks, hook)

    # ---- traversal -----------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, depth first."""
        stack = [(prefix, self)]
        seen = set() if memo is None else memo
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in seen:
                    continue
                seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                    if c is not None]
            stack.extend(reversed(kids))

    def modules(self):
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """(name, module) for the direct children."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        """The direct child modules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen = set()
        for mname, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mname}.{name}" if mname else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(qualified name, Parameter), each shared parameter once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every Parameter of this module and its descendants, each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(qualified name, buffer Tensor)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Every buffer of this module and its descendants."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The descendant named by a dotted path ('' is self)."""
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules:
                raise AttributeError(f"get_submodule: {type(m).__name__} has no submodule "
                                     f"{part!r} (in {target!r})")
            m = m._modules[part]
        return m

    def get_parameter(self, target):
        """The parameter named by a dotted path."""
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if name not in m._parameters:
            raise AttributeError(f"get_parameter: {type(m).__name__} has no parameter {name!r}")
        return m._parameters[name]

    # ---- modes and bulk operations -------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on this module and descendants."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool; got {type(mode).__name__}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        """Set evaluation mode: train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad of every parameter (freeze with False)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (default), or fill it with zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            elif p.grad.requires_grad or not p.grad._data.flags.writeable:
                p.grad = Tensor(np.zeros_like(p.grad._data))  # leave a recorded graph alone
            else:
                p.grad._data.fill(0)
                bump_version(p.grad)

    def apply(self, fn):
        """Call fn(m) on every descendant (children first), then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """Move (module.to('cuda')) and/or cast floating (module.to(cr.float64)) parameters and
        buffers in place, as torch: Parameters keep their identity, their gradients follow, and
        optimizers rebuild their flat buffers on the new device at their next step."""
        from chainrule._device import check_device
        from chainrule._device import device as device_type

        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (device_type, int)) and not isinstance(a, bool) or (
                    isinstance(a, str) and a not in np.sctypeDict):
                device = a
            else:
                dtype = a
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"to: only floating dtypes are allowed; got {dtype}")
        dev = None if device is None else check_device("Module.to", device)
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is not None:
                        _move_in_place(t, dev, dtype)
        return self

    def cuda(self, device=None):
        """Move parameters and buffers to a CUDA device (in place)."""
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def cpu(self):
        """Move parameters and buffers to the CPU (in place)."""
        return self.to("cpu")

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self):
        """Cast floating parameters and buffers to float64 (for gradient checks)."""
        return self.to(np.float64)

    # ---- saving and loading --------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Ordered dict qualified name -> Tensor of every parameter and persistent buffer."""
        out = OrderedDict() if destination is None else destination
        for mname, m in self.named_modules(prefix=prefix.rstrip(".")):
            dot = f"{mname}." if mname else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from `state_dict` into this module's parameters and buffers, in place.

        Raises ValueError naming the key and both shapes on a shape mismatch, and (with
        strict=True) on missing or unexpected keys. Returns (missing_keys, unexpected_keys).
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for k in own:
            if k in state_dict:
                value = state_dict[k]
                value = value._data if isinstance(value, Tensor) else np.asarray(value)
                if value.shape != own[k].shape:
                    problems.append(f"size mismatch for {k!r}: the checkpoint has shape "
                                    f"{value.shape}, the model has shape {own[k].shape}")
        if strict:
            problems += [f"missing key {k!r} (the model expects shape {own[k].shape})"
                         for k in missing]
            problems += [f"unexpected key {k!r} (shape {np.shape(_raw(state_dict[k]))})"
                         for k in unexpected]
        if problems:
            raise ValueError(f"load_state_dict: error(s) loading into {type(self).__name__}: "
                             + "; ".join(problems))
        for k, t in own.items():
            if k in state_dict:
                np.copyto(t._data, _raw(state_dict[k], t._data), casting="unsafe")
                bump_version(t)
        return _IncompatibleKeys(missing, unexpected)

    # ---- repr ----------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override in layers)."""
        return ""

    def __repr__(self):
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules:
            return f"{type(self).__name__}({', '.join(lines)})" if len(lines) <= 1 else \
                f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _raw(value, like=None):
    """value's array, on like's device when like is given (a checkpoint loads anywhere)."""
    a = value._data if isinstance(value, Tensor) else np.asarray(value)
    if like is not None and type(a) is not type(like):
        from chainrule._device import device_of, to_device

        a = to_device(a, device_of(like))
    return a


class _Handle:
    """Returned by register_*_hook; `remove()` unregisters the hook."""

    _next = 0

    def __init__(self, hooks, hook):
        _Handle._next += 1
        self._hooks, self._key = hooks, _Handle._next
        hooks[self._key] = hook

    def remove(self):
        self._hooks.pop(self._key, None)
