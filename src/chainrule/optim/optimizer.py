"""Optimizer: parameter groups, per-parameter state, zero_grad and state_dict, as in PyTorch.

A subclass writes only its update rule, ``update(p, g, state, group)``: a few in-place NumPy
calls (``out=``) on the arrays it is handed. The base class's ``step()`` owns the rest: the
closure, the parameter groups, handing the rule a whole group at once through its flat buffers
(optim/flat.py) when the layout holds (else each parameter with a gradient: the update code is
the same), writing the flat state back and stamping each updated parameter's version counter,
so a graph recorded with the old weights refuses to backpropagate. It never records a graph.
"""

import copy
import math
from collections import defaultdict

import numpy as np

from chainrule.compile import effect
from chainrule.core import mode as _mode
from chainrule.core.backend import xp_of
from chainrule.core.tensor import Tensor, bump_version, from_array
from chainrule.optim.flat import FlatGroup


class _RequiredParameter:
    """Marks a hyperparameter every parameter group must set (PyTorch's `required`)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with "params" and hyperparameters) and ``state``.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts
            ``{"params": [...], "lr": ...}`` (one parameter group each).
        defaults: hyperparameters used by groups that do not set them.
    """

    def __init_subclass__(cls, **kwargs):
        """A subclass's own step() is an effect too: a cr.compile replay calls it as it is."""
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not hasattr(step, "__chainrule_effect__"):
            cls.step = effect(step)

    def __init__(self, params, defaults):
        name = type(self).__name__
        self.defaults = dict(defaults)
        self._check_hyperparameters(self.defaults)
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts; got a "
                            f"single Tensor of shape {params.shape}; wrap it in a list: [p]")
        if isinstance(params, (dict, str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts; got "
                            f"{type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be an ordered collection (a list), not a "
                            "set: the order of a set changes between runs")
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch = {}
        self._flat = {}  # id(group["params"]) -> FlatGroup
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list; pass "
                             "model.parameters() or a list of Tensors (a generator such as "
                             "model.parameters() is empty once it has been consumed)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        if not any(g["params"] for g in self.param_groups):
            raise ValueError(f"{name}: optimizer got no parameters; every parameter group has "
                             "an empty 'params' list")

    # ---- hyperparameter checks (subclasses list theirs) ----------------------------------
    def _check_hyperparameters(self, group):
        """Raise ValueError naming the first invalid hyperparameter of `group`."""

    def _check(self, ok, what, value):
        if not ok:
            raise ValueError(f"{type(self).__name__}: invalid {what}; got {value!r}")

    def _check_number(self, group, key, low=0.0, high=None, high_open=False):
        """group[key] must be a real number with low <= value (< or <=) high."""
        if key not in group or group[key] is required:
            return
        v = group[key]
        if isinstance(v, Tensor):
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{type(self).__name__}: {key} must be a real number; got "
                            f"{type(v).__name__}")
        bound = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
        ok = low <= v and (high is None or (v < high if high_open else v <= high))
        self._check(ok, f"{key} value (it must be >= {low}{bound})", v)

    # ---- parameter groups ----------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyperparameters (e.g. to unfreeze layers)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict; got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError(f"{name}: a param group needs a 'params' entry; got keys "
                             f"{sorted(group)}")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be an ordered collection (a list), not a "
                            "set: the order of a set changes between runs")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError(f"{name}: all parameters should be given with names or all "
                             f"without; got {len(names)} names for {len(params)} parameters")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors; parameter {i} is a "
                                f"{type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor; parameter {i} "
                                 f"(shape {p.shape}) was created by {type(p.grad_fn).__name__}"
                                 "; optimize the leaf it was computed from, or .detach() it "
                                 "and set requires_grad")
        group["params"] = params
        if names:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._check_hyperparameters(group)
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)
        self._make_flat(group)

    def _make_flat(self, group):
        """Move the group's parameters into one flat buffer (when they share a float dtype)."""
        if FlatGroup.eligible(group["params"]):
            self._flat[id(group["params"])] = FlatGroup(group["params"])

    # ---- gradients -----------------------------------------------------------------------
    @effect
    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g.requires_grad:  # a grad recorded with create_graph: detach it
                    p.grad = from_array(np.zeros_like(g._data))
                else:
                    g._data.fill(0)
                    bump_version(g)

    def _grads(self, group):
        """(param, grad array) for each parameter of `group` that has a gradient."""
        out = []
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            g = g._data
            if g.shape != p._data.shape:
                raise ValueError(f"{type(self).__name__}.step: the gradient of a parameter of "
                                 f"shape {p.shape} has shape {g.shape}")
            if g.dtype != p._data.dtype:
                g = g.astype(p._data.dtype)
            out.append((p, g))
        return out

    def _targets(self, group):
        """What one step updates: [(param array, grad array, state dict)] and the FlatGroup.

        One triple for the whole group, over its flat buffers, when every parameter has its
        gradient in place; else one per parameter that has a gradient (and no FlatGroup).
        """
        flat = self._flat.get(id(group["params"]))
        if flat is not None and type(group["params"][0]._data) is not type(flat.data):
            flat = self._moved(group, flat)
        if flat is not None:
            target = flat.target(group["params"], self.state)
            if target is not None:
                return [target], flat
        targets = []
        for p, g in self._grads(group):
            if not p._data.flags.writeable:
                raise ValueError(f"{type(self).__name__}.step: a parameter of shape {p.shape} "
                                 "holds a read-only array (from np.broadcast_to, a memory map "
                                 "or a read-only buffer), so it cannot be updated in place; "
                                 "give it a writable copy first: p.data = p.data.clone()")
            targets.append((p._data, g, self.state[p]))
        return targets, None

    def _moved(self, group, flat):
        """The group's parameters moved to another device (Module.to): its state follows them
        and the flat buffers are rebuilt there."""
        from chainrule._device import device_of, to_device

        params = group["params"]
        for p in params:
            dev = device_of(p._data)
            for value in self.state.get(p, {}).values():
                if isinstance(value, Tensor):
                    value._data = to_device(value._data, dev)
        self._scratch = {}
        del self._flat[id(params)]
        self._make_flat(group)
        return self._flat.get(id(params))

    def _finish(self, group, targets, flat):
        """After the update: write the flat state back, stamp the updated parameters."""
        if flat is not None:
            if targets[0][2]:  # (a stateless update, as plain SGD's, has nothing to write back)
                flat.commit(targets[0][2], self.state)
            self._stamp(group["params"])
        else:
            self._stamp(p for p in group["params"] if p.grad is not None)

    def _buffers(self, a, count):
        """`count` scratch arrays shaped like `a`, reused across steps (never part of state)."""
        key = (a.dtype, a.shape, count)
        views = self._scratch.get(key)  # the views themselves are kept: a step reuses them
        if views is None or type(views[0]) is not type(a):
            # each view starts on a 64-byte boundary: SIMD loops over unaligned memory are
            # ~5% slower (Adam's dozen passes over W1's 235k parameters: 258 vs 245 us)
            n = a.size
            step = -(-n * a.itemsize // 64) * 64 // a.itemsize if a.itemsize <= 64 else n
            size = step * (count - 1) + n + 64 // a.itemsize
            buf = self._scratch.get(a.dtype)
            if buf is None or buf.size < size or type(buf) is not type(a):
                buf = xp_of(a).empty(size, a.dtype)  # (views of an old buffer are dropped)
                self._scratch = {a.dtype: buf}
            start = _aligned_start(buf)
            views = self._scratch[key] = [buf[start + i * step:start + i * step + n]
                                          .reshape(a.shape) for i in range(count)]
        return views

    def _direction(self, p, g, group, t):
        """g (or -g when maximizing), plus weight_decay * p when set; written into t if needed.

        p and g are arrays (a parameter's, or a whole group's flat buffers).
        """
        wd = float(group.get("weight_decay", 0.0))
        if wd != 0.0 and not group.get("decoupled_weight_decay", False):
            np.multiply(p, wd, out=t)
            return np.subtract(t, g, out=t) if group.get("maximize") else np.add(t, g, out=t)
        return np.negative(g, out=t) if group.get("maximize") else g

    def _new_state(self, p, value=0.0):
        """A state tensor shaped and typed like p (an array or a Tensor), filled with value."""
        return from_array(np.full_like(p._data if isinstance(p, Tensor) else p, value))

    @effect
    def step(self, closure=None):
        """Update every parameter that has a gradient; returns closure() if given."""
        loss = None if closure is None else self._closure(closure)
        for group in self.param_groups:
            targets, flat = self._targets(group)
            for p, g, state in targets:  # arrays: one parameter's, or a whole flat group's
                self.update(p, g, state, group)
            self._finish(group, targets, flat)
        return loss

    def update(self, p, g, state, group):
        """The update rule: change p in place from its gradient g, its state dict and the
        group's hyperparameters (p and g are arrays: a parameter's, or a flat group's)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement update()")

    def _closure(self, closure):
        if closure is None:
            return None
        with _mode.enable_grad():
            return closure()

    @staticmethod
    def _stamp(params):
        """bump_version of each parameter, with one tick of the clock for them all (they are
        written at the same moment)."""
        now = _mode.tick()
        for p in params:
            v = p._version
            if v is None:
                p._version = [now]
            else:
                v[0] = now

    # ---- saving and loading --------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}.

        Parameters are replaced by their position across groups, as in PyTorch; state tensors
        are references (copy the dict to keep a snapshot). ``step`` counts are Python ints
        (PyTorch keeps them in 0-d tensors).
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and per-parameter state saved by `state_dict()`."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                             f"'param_groups'; got {got}")
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has a different "
                             f"number of parameter groups; got {len(saved)}, the optimizer "
                             f"has {len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(s['params'])} parameters in the loaded state dict and "
                                 f"{len(g['params'])} in the optimizer")
        id_map = {}
        for g, s in zip(self.param_groups, saved):
            id_map.update(zip(s["params"], g["params"]))
        state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if key not in id_map:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {key} "
                                 f"but the optimizer has {len(id_map)} parameters")
            p = id_map[key]
            state[p] = {k: _load_value(name, key, k, v, p) for k, v in values.items()}
        for g, s in zip(self.param_groups, saved):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
        self.state = state
        self.param_groups = saved

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._scratch = {}
        self._flat = {}
        for group in self.param_groups:
            self._make_flat(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _load_value(name, index, key, value, p):
    """A copy of a saved state value; floating tensors take p's dtype and must match its shape."""
    if isinstance(value, (Tensor, np.ndarray)):
        a = np.array(value._data if isinstance(value, Tensor) else value)  # always a copy
        if key == "step":
            return a.item() if a.size == 1 else from_array(a)
        if a.dtype.kind == "f" and p._data.dtype.kind == "f":
            a = a.astype(p._data.dtype, copy=False)
        if a.ndim and a.shape != p._data.shape:
            raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {index} has "
                             f"shape {a.shape} but the parameter has shape {p.shape}")
        return from_array(a)
    return copy.deepcopy(value)


def _aligned_start(buf):
    """The first index of buf (1-D) whose address is a multiple of 64 bytes (0 where the
    address cannot be read, as on a device: its allocator aligns buffers already)."""
    if type(buf) is not np.ndarray or 64 % buf.itemsize:
        return 0
    return (-buf.ctypes.data % 64) // buf.itemsize


def bias_corrections(beta1, beta2, step):
    """(1 - beta1^t, sqrt(1 - beta2^t)): Adam's bias corrections at step t."""
    return 1.0 - beta1 ** step, math.sqrt(1.0 - beta2 ** step)
