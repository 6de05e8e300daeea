r"""Modern answers to depth (Chapter 9): residual branches, orthogonal weights, update sizes.

Three diagnostics that go past the variance recursion of :mod:`dotbook.initialization`:

- :func:`residual_second_moments`: the second moment of the residual stream
  :math:`x_{l} = x_{l-1} + \alpha\,f(N(x_{l-1}))` through :math:`L` blocks, with the branch
  plain, scaled by :math:`\alpha = 1/\sqrt{2L}` (GPT-2's rule), or normalised first
  (pre-LN, :math:`N` = layer norm).
- :func:`jacobian_singular_values`: the singular values of the input–output Jacobian
  :math:`J = D_L W_L \cdots D_1 W_1` of a deep network, Gaussian or orthogonal weights
  (Saxe et al. 2014; Pennington et al. 2017).
- :func:`update_ratios`: the update-to-weight ratio :math:`\lVert\Delta W_l\rVert/\lVert W_l\rVert`
  of every layer over the first steps of :func:`dotbook.training.fit`.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from dotbook import _validate, training
from dotbook.device import placement
from dotbook.stability import layer_norm

__all__ = ["BRANCHES", "INITS", "MAX_DEPTH", "MAX_WIDTH", "MAX_BATCH", "MAX_STEPS",
           "residual_second_moments", "predicted_second_moments", "orthogonal",
           "jacobian_singular_values", "spectrum_spread", "update_ratios"]

#: How each residual block treats its branch.
BRANCHES = ("plain", "scaled", "pre_ln", "pre_ln_scaled")
#: Weight distributions for :func:`jacobian_singular_values`.
INITS = ("gaussian", "orthogonal")
MAX_DEPTH, MAX_WIDTH, MAX_BATCH, MAX_STEPS = 1000, 4096, 65_536, 100


def _floating(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, "
                        f"got {dtype!r}")
    return dtype


def predicted_second_moments(depth: int, branch: str) -> list[float]:
    r"""The expected :math:`q_l = \mathbb E[x_l^2]` for :math:`l = 0 \dots L`, from :math:`q_0 = 1`.

    A variance-preserving branch (:math:`\mathbb E[f(u)^2] = \mathbb E[u^2]`) adds its input's
    second moment; after a layer norm it adds :math:`\alpha^2`:

    ========== =========================== ===============================
    branch     recursion                   :math:`q_L`
    ========== =========================== ===============================
    plain      :math:`q_l = 2q_{l-1}`       :math:`2^L`
    scaled     :math:`q_l = (1 + \tfrac1{2L})q_{l-1}` :math:`(1 + \tfrac1{2L})^L < \sqrt e`
    pre_ln     :math:`q_l = q_{l-1} + 1`    :math:`1 + L`
    pre_ln_scaled :math:`q_l = q_{l-1} + \tfrac1{2L}` :math:`\tfrac32`
    ========== =========================== ===============================

    Args:
        depth: blocks :math:`L` (1 … :data:`MAX_DEPTH`).
        branch: one of :data:`BRANCHES`.

    Examples::

        >>> predicted_second_moments(2, "pre_ln")
        [1.0, 2.0, 3.0]
    """
    depth = _validate.integer(depth, "depth", at_most=MAX_DEPTH)
    _validate.choice(branch, "branch", BRANCHES)
    a2 = 1 / (2 * depth) if branch.endswith("scaled") else 1.0
    q = [1.0]
    for _ in range(depth):
        q.append(q[-1] + a2 if branch.startswith("pre_ln") else q[-1] * (1 + a2))
    return q


def residual_second_moments(depth: int, width: int, branch: str, *, batch: int = 256,
                            generator: torch.Generator,
                            dtype: torch.dtype = torch.float32) -> list[float]:
    r"""Measured :math:`q_l = \mathbb E[x_l^2]` through :math:`L` residual blocks.

    .. math::  x_l = x_{l-1} + \alpha\, W_{2,l}\,\mathrm{relu}\big(W_{1,l}\,N(x_{l-1})\big),

    with :math:`W_1 \sim N(0, 2/n)` (He) and :math:`W_2 \sim N(0, 1/n)`, so that the branch
    keeps its input's second moment; :math:`\alpha = 1/\sqrt{2L}` for the ``*scaled``
    branches (else 1), :math:`N` the layer norm for ``pre_ln*`` (else the identity).
    :math:`x_0 \sim N(0, 1)`. Compare with :func:`predicted_second_moments`.

    Args:
        depth: blocks :math:`L` (1 … :data:`MAX_DEPTH`).
        width: the stream's width :math:`n` (1 … :data:`MAX_WIDTH`).
        branch: one of :data:`BRANCHES`.
        batch: inputs averaged over (1 … :data:`MAX_BATCH`).
        generator: draws the inputs, then each block's weights.
        dtype: a floating dtype.

    Shape:
        - output: :math:`L + 1` floats, :math:`q_0 \dots q_L`

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> q = residual_second_moments(10, 64, "pre_ln", generator=g)
        >>> len(q), 8 < q[-1] < 14
        (11, True)
    """
    depth = _validate.integer(depth, "depth", at_most=MAX_DEPTH)
    width = _validate.integer(width, "width", at_most=MAX_WIDTH)
    batch = _validate.integer(batch, "batch", at_most=MAX_BATCH)
    _validate.choice(branch, "branch", BRANCHES)
    _validate.generator(generator)
    dev, dtype = placement(None, _floating(dtype), generator)
    alpha = 1 / math.sqrt(2 * depth) if branch.endswith("scaled") else 1.0
    x = torch.randn(batch, width, generator=generator, device=dev, dtype=dtype)
    q = [x.square().mean().item()]
    for _ in range(depth):
        w1 = torch.randn(width, width, generator=generator, device=dev, dtype=dtype)
        w2 = torch.randn(width, width, generator=generator, device=dev, dtype=dtype)
        u = layer_norm(x) if branch.startswith("pre_ln") else x
        f = torch.relu(u @ w1.T * math.sqrt(2 / width)) @ w2.T / math.sqrt(width)
        x = x + alpha * f
        q.append(x.square().mean().item())
    return q


def orthogonal(n: int, *, generator: torch.Generator,
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""A Haar-random orthogonal matrix: :math:`Q` of :math:`A = QR` (:math:`A` Gaussian),
    its columns' signs fixed so that :math:`\operatorname{diag}R > 0`.

    Args:
        n: the size (1 … :data:`MAX_WIDTH`).
        generator: draws :math:`A`.
        dtype: a floating dtype.

    Shape:
        - output: :math:`(n, n)`, with :math:`Q^\top Q = I`

    Examples::

        >>> q = orthogonal(4, generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(q.T @ q, torch.eye(4, dtype=torch.float64))
        True
    """
    n = _validate.integer(n, "n", at_most=MAX_WIDTH)
    _validate.generator(generator)
    dev, dtype = placement(None, _floating(dtype), generator)
    a = torch.randn(n, n, generator=generator, device=dev, dtype=dtype)
    q, r = torch.linalg.qr(a)
    return q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(dtype)


def jacobian_singular_values(depth: int, width: int, activation: str = "linear",
                             init: str = "gaussian", *, sigma2: float = 1.0,
                             generator: torch.Generator,
                             dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    r"""The singular values of :math:`J_l = \partial h_l/\partial h_0 = D_lW_l\cdots D_1W_1`
    for every :math:`l = 1\dots L`, at one input :math:`h_0 \sim N(0, I)`.

    :math:`h_l = \phi(W_lh_{l-1})`, :math:`D_l = \operatorname{diag}\phi'(W_lh_{l-1})`;
    :math:`W_l \sim N(0, \sigma^2/n)` (``"gaussian"``) or :math:`\sigma Q` with :math:`Q`
    from :func:`orthogonal`. The layer Jacobians are multiplied in ``dtype`` and the
    singular values come from ``torch.linalg.svdvals``. Orthogonal linear layers with
    :math:`\sigma = 1` give all ones (dynamical isometry); Gaussian ones spread out with depth.

    Args:
        depth: layers :math:`L` (1 … :data:`MAX_DEPTH`).
        width: :math:`n` (1 … :data:`MAX_WIDTH`).
        activation: ``"linear"`` or ``"tanh"``.
        init: one of :data:`INITS`.
        sigma2: :math:`\sigma^2 > 0` (1 is tanh's critical point with zero biases).
        generator: draws :math:`h_0`, then each layer's weights.
        dtype: a floating dtype (float64 by default).

    Shape:
        - output: :math:`L` tensors of shape :math:`(n)`, descending

    Examples::

        >>> s = jacobian_singular_values(5, 8, "linear", "orthogonal",
        ...                              generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(s[-1], torch.ones(8, dtype=torch.float64))
        True
    """
    depth = _validate.integer(depth, "depth", at_most=MAX_DEPTH)
    width = _validate.integer(width, "width", at_most=MAX_WIDTH)
    _validate.choice(activation, "activation", ("linear", "tanh"))
    _validate.choice(init, "init", INITS)
    sigma2 = _validate.in_range(sigma2, "sigma2", 1e-6, 1e6)
    _validate.generator(generator)
    dev, dtype = placement(None, _floating(dtype), generator)
    h = torch.randn(width, generator=generator, device=dev, dtype=dtype)
    jac = torch.eye(width, device=dev, dtype=dtype)
    out = []
    for _ in range(depth):
        if init == "orthogonal":
            w = math.sqrt(sigma2) * orthogonal(width, generator=generator, dtype=dtype)
        else:
            w = torch.randn(width, width, generator=generator, device=dev, dtype=dtype)
            w = w * math.sqrt(sigma2 / width)
        z = w @ h
        h = torch.tanh(z) if activation == "tanh" else z
        d = 1 - h.square() if activation == "tanh" else torch.ones_like(z)
        jac = (d[:, None] * w) @ jac
        out.append(torch.linalg.svdvals(jac))
    return out


def spectrum_spread(s: torch.Tensor) -> float:
    r"""How far :math:`JJ^\top` is from an isometry: :math:`\operatorname{Var}(\lambda)/
    \bar\lambda^{\,2}` over its eigenvalues :math:`\lambda_i = s_i^2`.

    Zero exactly when all singular values are equal. For a product of :math:`L` wide
    Gaussian linear layers it is about :math:`L` (Pennington et al. 2017).

    Args:
        s: singular values, a non-empty finite floating vector with a positive entry.

    Examples::

        >>> spectrum_spread(torch.tensor([1.0, 1.0])), spectrum_spread(torch.tensor([0.0, 2.0]))
        (0.0, 1.0)
    """
    s = _validate.finite(_validate.vector(s, "s"), "s")
    _floating(s.dtype)
    if s.numel() == 0 or not bool((s != 0).any()):
        raise ValueError("s must hold at least one non-zero singular value")
    lam = s.square()
    return (lam.var(unbiased=False) / lam.mean().square()).item()


def update_ratios(net: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int,
                  generator: torch.Generator, **fit_args: object) -> list[list[float]]:
    r"""The update-to-weight ratio :math:`\lVert W_l^{(t)} - W_l^{(t-1)}\rVert_F /
    \lVert W_l^{(t-1)}\rVert_F` of every weight matrix at each of the first ``steps`` steps.

    Runs :func:`dotbook.training.fit` on copies of ``net`` for :math:`1, 2, \dots` steps,
    each from a copy of ``generator``'s state, so step :math:`t` of every run sees the
    same batch and the optimiser's state (momentum) is that of one uninterrupted run.
    ``net`` and ``generator`` are left as they were. ``fit_args`` go to ``fit``
    (``loss``, ``lr``, ``batch``, ``momentum`` …).

    Args:
        net: the model; its parameters with two or more dimensions are the weights.
        x, y: the training data, as for ``fit``.
        steps: steps recorded (1 … :data:`MAX_STEPS`).
        generator: draws the minibatches.

    Shape:
        - output: ``steps`` lists, one ratio per weight matrix (bottom layer first)

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(32, 3, generator=g); y = (x[:, 0] > 0).long()
        >>> r = update_ratios(torch.nn.Linear(3, 2), x, y, steps=2, generator=g,
        ...                   loss="cross_entropy", lr=0.1)
        >>> len(r), len(r[0]), r[0][0] > 0
        (2, 1, True)
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module (e.g. initialization.mlp(...)), got "
                        f"{type(net).__name__}")
    steps = _validate.integer(steps, "steps", at_most=MAX_STEPS)
    _validate.generator(generator)
    state = generator.get_state()

    def weights(m: nn.Module) -> list[torch.Tensor]:
        return [p.detach().clone() for p in m.parameters() if p.dim() >= 2]

    before, ratios = weights(net), []
    for t in range(1, steps + 1):
        g = torch.Generator(device=generator.device).set_state(state)
        model = copy.deepcopy(net)
        training.fit(model, x, y, steps=t, generator=g, **fit_args)  # type: ignore[arg-type]
        after = weights(model)
        ratios.append([((a - b).norm() / b.norm()).item() for a, b in zip(after, before,
                                                                          strict=True)])
        before = after
    return ratios
