"""Built-in plugin: the optimizers of torch.optim that GANs are trained with: Adam, AdamW, RMSprop and SGD.

Each runs on torch's fastest kernel for the device: ``fused`` (one launch per step for all tensors) where torch
has it for that optimizer and device, else ``foreach`` (one launch per op across tensors).
"""

from __future__ import annotations

import torch

from ganzoo import OptimizerSpec, Param, ParameterError, hookimpl


def _fastest(cls, params: list, **kwargs) -> torch.optim.Optimizer:
    """``cls(params, fused=True)`` where torch supports it here, else ``foreach=True``, else the plain loop."""
    for kernel in ({"fused": True}, {"foreach": True}, {}):
        try:
            return cls(params, **kwargs, **kernel)
        except (RuntimeError, TypeError) as err:  # unsupported kernel for this optimizer, device or dtype
            last = err
        except ValueError as err:  # a hyperparameter torch rejects: the user's to fix
            raise ParameterError(str(err)) from None
    raise last


def adam(params, lr, betas, eps, weight_decay, amsgrad):
    return _fastest(torch.optim.Adam, params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                    amsgrad=amsgrad)


def adamw(params, lr, betas, eps, weight_decay, amsgrad):
    return _fastest(torch.optim.AdamW, params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                    amsgrad=amsgrad)


def rmsprop(params, lr, alpha, eps, momentum, weight_decay, centered):
    return _fastest(torch.optim.RMSprop, params, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                    weight_decay=weight_decay, centered=centered)


def sgd(params, lr, momentum, nesterov, weight_decay):
    if nesterov and momentum <= 0:
        raise ParameterError("nesterov needs a momentum > 0, e.g. --set opt.momentum=0.9")
    return _fastest(torch.optim.SGD, params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


_EPS = Param("eps", float, 1e-8, "added to the denominator for stability", above=0)


def _adam_params(weight_decay: float) -> tuple[Param, ...]:
    return (
        Param("betas", list[float], [0.5, 0.999], "the moving averages' decay rates (DCGAN's 0.5, 0.999; WGAN-GP's "
                                                  "0.0, 0.9)", length=2, min=0, below=1),
        _EPS,
        Param("weight_decay", float, weight_decay, "weight decay (AdamW: decoupled from the gradient)", min=0),
        Param("amsgrad", bool, False, "the AMSGrad variant (the maximum of past squared gradients)"),
    )


@hookimpl
def ganzoo_optimizers():
    yield OptimizerSpec(
        name="adam", factory=adam, description="Adam (torch.optim.Adam), the GAN default, fused where torch can.",
        citation="Kingma & Ba 2015; betas 0.5, 0.999 after Radford et al. 2016 (DCGAN)", params=_adam_params(0.0),
    )
    yield OptimizerSpec(
        name="adamw", factory=adamw, description="AdamW (torch.optim.AdamW): Adam with decoupled weight decay.",
        citation="Loshchilov & Hutter 2019", params=_adam_params(0.01),
    )
    yield OptimizerSpec(
        name="rmsprop", factory=rmsprop, description="RMSprop (torch.optim.RMSprop), as WGAN trains with clipping.",
        citation="Tieleman & Hinton 2012; used by Arjovsky et al. 2017 (WGAN)",
        params=(
            Param("alpha", float, 0.99, "smoothing constant of the squared-gradient average", min=0, max=1),
            _EPS,
            Param("momentum", float, 0.0, "momentum factor", min=0),
            Param("weight_decay", float, 0.0, "L2 penalty", min=0),
            Param("centered", bool, False, "normalise by the gradient's estimated variance"),
        ),
    )
    yield OptimizerSpec(
        name="sgd", factory=sgd, description="Stochastic gradient descent (torch.optim.SGD), optionally with momentum.",
        citation="Robbins & Monro 1951; Nesterov momentum after Sutskever et al. 2013",
        params=(
            Param("momentum", float, 0.0, "momentum factor", min=0),
            Param("nesterov", bool, False, "Nesterov momentum (needs momentum > 0)"),
            Param("weight_decay", float, 0.0, "L2 penalty", min=0),
        ),
    )
