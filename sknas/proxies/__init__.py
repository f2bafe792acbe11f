"""Zero-cost proxies: score a freshly initialised network without training it.

Each proxy is ``proxy(module, X, y) -> float`` (larger is better) and never
modifies ``module`` nor the global random state:

- ``synflow`` (Tanaka et al. 2020) and ``params``: data-free;
- ``naswot`` (Mellor et al. 2021): activation-pattern kernel of a batch;
- ``snip`` (Lee et al. 2019) and ``grad_norm``: one loss gradient on a batch.

:class:`ProxyPrescreenSampler` wraps a strategy so that a proxy picks the
most promising of several proposals before anything is trained.

See Abdelfattah et al. 2021, "Zero-cost proxies for lightweight NAS".

>>> import torch
>>> from sknas.proxies import PROXIES, compute_proxy
>>> sorted(PROXIES)
['grad_norm', 'naswot', 'params', 'snip', 'synflow']
>>> compute_proxy("params", torch.nn.Linear(4, 3))
15.0
"""

from sknas.proxies._gradient import grad_norm, snip, synflow
from sknas.proxies._naswot import naswot
from sknas.proxies._params import params
from sknas.proxies._registry import DATA_FREE, PROXIES, compute_proxy
from sknas.proxies.prescreen import ProxyPrescreenSampler, proxy_score

__all__ = [
    "PROXIES",
    "DATA_FREE",
    "compute_proxy",
    "proxy_score",
    "ProxyPrescreenSampler",
    "grad_norm",
    "naswot",
    "params",
    "snip",
    "synflow",
]
