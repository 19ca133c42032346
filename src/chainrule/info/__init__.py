"""Information theory and optimal transport on probability vectors (SciPy / POT names).

    >>> import chainrule as cr
    >>> cr.info.entropy(cr.tensor([0.5, 0.5]), base=2).item()          # a fair coin: 1 bit
    1.0
    >>> round(cr.info.bayes([0.3, 0.7], [0.8, 0.1])[0].item(), 3)      # P(spam | "free")
    0.774

Every function takes Tensors (or arrays) and returns Tensors, differentiably; 0 log 0 = 0.
"""

from chainrule.info.bayes import bayes, evidence, expectation, variance
from chainrule.info.divergence import jensenshannon, js_divergence, kl_divergence, rel_entr
from chainrule.info.entropy import cross_entropy, entropy, perplexity
from chainrule.info.mutual_information import (
    conditional_entropy,
    contingency_table,
    joint_entropy,
    mutual_info_score,
    mutual_information,
)
from chainrule.info.transport import (
    OTResult,
    emd,
    emd2,
    sinkhorn,
    sinkhorn2,
    wasserstein_1d,
    wasserstein_distance,
)

__all__ = [
    "OTResult", "bayes", "conditional_entropy", "contingency_table", "cross_entropy", "emd",
    "emd2", "entropy", "evidence", "expectation", "jensenshannon", "joint_entropy",
    "js_divergence", "kl_divergence", "mutual_info_score", "mutual_information", "perplexity",
    "rel_entr", "sinkhorn", "sinkhorn2", "variance", "wasserstein_1d", "wasserstein_distance",
]
