"""cr.inspect: make the math visible: derivations, graphs, gradient flow, spectra, curvature;
and diagnose a failing network (findings with advice).

    >>> import chainrule as cr
    >>> w = cr.tensor(3.0, requires_grad=True)
    >>> print(cr.inspect.explain(w * w).splitlines()[0])
    Chain rule for L with respect to w

Plots live in ``chainrule.inspect.plot`` (matplotlib, imported only there).
"""

from chainrule.core.gradcheck import GradcheckError, gradcheck, gradgradcheck
from chainrule.inspect.anomaly import AnomalyError, detect_anomaly
from chainrule.inspect.curvature import (
    CriticalPoint,
    HessianDensity,
    HessianOperator,
    Sharpness,
    critical_point,
    hessian_density,
    hessian_eigs,
    hessian_trace,
    lanczos,
    sharpness,
)
from chainrule.inspect.diagnose import Diagnosis, diagnose
from chainrule.inspect.explain import explain, explain_step
from chainrule.inspect.findings import Finding
from chainrule.inspect.flow import LayerFlow, format_flow, gradient_flow
from chainrule.inspect.graph import dot_available, render_dot, to_dot
from chainrule.inspect.landscape import Landscape, interpolate, loss_landscape, random_directions
from chainrule.inspect.nonfinite import explain_non_finite
from chainrule.inspect.spectra import (
    LayerSpectrum,
    jacobian_spectrum,
    matrix_power_norms,
    spectral_radius,
    spectrum,
    weight_spectra,
)

__all__ = [
    "AnomalyError", "CriticalPoint", "Diagnosis", "Finding", "GradcheckError", "HessianDensity",
    "HessianOperator", "Landscape", "LayerFlow", "LayerSpectrum", "Sharpness", "critical_point",
    "detect_anomaly", "diagnose", "dot_available", "explain", "explain_non_finite",
    "explain_step", "format_flow", "gradcheck", "gradgradcheck",
    "gradient_flow", "hessian_density", "hessian_eigs", "hessian_trace", "interpolate",
    "jacobian_spectrum", "lanczos", "loss_landscape", "matrix_power_norms", "random_directions",
    "render_dot", "sharpness", "spectral_radius", "spectrum", "to_dot", "weight_spectra",
]
