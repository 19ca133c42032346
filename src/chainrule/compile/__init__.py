"""Trace and replay: record the primitive calls of one call of a function, then replay them.

``step = cr.compile(step_fn)`` runs ``step_fn`` eagerly on its first two calls while a tracer
(an interceptor of the kernel's events, tracer.py) records, in order, everything it did to
data: every ``Function.forward`` (the ops of the forward pass and of every vjp), every
gradient the engine hands to a leaf, every in-place write, and every *effect* (a call the
replay makes again as it is, such as ``optimizer.step()``: see :func:`effect`). The planner
(planner.py) compares the two traces and writes the replay as one generated Python function;
cache.py keeps the programs per argument layout and checks their guards. See docs/COMPILE.md.
"""

from chainrule.compile.cache import Compiled, compile
from chainrule.compile.tracer import CompileError, effect

__all__ = ["CompileError", "Compiled", "compile", "effect"]
