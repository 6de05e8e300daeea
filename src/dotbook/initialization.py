r"""Initialization (Chapter 9): how large a neuron's weights must be for signals to survive depth.

A pre-activation is a dot product, :math:`z = w\cdot x = \sum_{i=1}^{n} w_i x_i`.
If the :math:`n` terms are independent and the weights have mean zero,

.. math::  \operatorname{Var}(z) = n\,\operatorname{Var}(w)\,\mathbb E[x^2],

and :math:`\mathbb E[x^2] = \operatorname{Var}(x)` only when the inputs have
mean zero too (ReLU outputs do not). A deep network repeats this once per
layer, so the factor :math:`n\operatorname{Var}(w)` (times what the activation
keeps) is raised to the power of the depth: below one the signal vanishes,
above one it explodes. The schemes choose :math:`\operatorname{Var}(w)` to make
the factor one (:func:`std`):

========== ============================== ==========================================
scheme     weights                        variance
========== ============================== ==========================================
normal     :math:`N(0, 1)`                :math:`1`
standard   :math:`U(-1/\sqrt n, 1/\sqrt n)` :math:`1/(3\,\text{fan}_\text{in})`
xavier     :math:`N(0, \sigma^2)`          :math:`2/(\text{fan}_\text{in} + \text{fan}_\text{out})`
he         :math:`N(0, \sigma^2)`          :math:`2/\text{fan}_\text{in}`
========== ============================== ==========================================

each times ``gain**2``. "standard" is the heuristic Glorot & Bengio (2010)
call standard, and it is what ``nn.Linear`` still draws by default; "xavier"
is their normalised initialisation; "he" is He et al. (2015), whose standard
deviation is :math:`\sqrt{2/\text{fan}_\text{in}}`.

:func:`mean_field` predicts the second moments layer by layer (a Gaussian
average per layer, by the trapezoid rule on a fine grid), and :func:`depth_statistics`
measures them in a real network with forward and backward hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dotbook import _validate, layers, training
from dotbook.device import cpu_threads, placement
from dotbook.linearity import ACTIVATIONS

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "activation_std",
    "SCHEMES",
    "DepthStatistics",
    "MeanField",
    "TrainingRun",
    "depth_statistics",
    "derivative_moment",
    "dot_products",
    "initialize_",
    "mean_field",
    "mlp",
    "predicted_dot_variance",
    "record",
    "sample_std_tolerance",
    "second_moment",
    "std",
    "torch_initialize_",
    "train_classifier",
]

#: The one scheme table: each scheme's weight variance for ``gain = 1`` as a function of
#: ``(fan_in, fan_out)`` ("kaiming" is another name for "he", "glorot" for "xavier").
SCHEMES: dict[str, Callable[[int, int], float]] = {
    "standard": lambda fan_in, fan_out: 1.0 / (3.0 * fan_in),
    "xavier": lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
    "he": lambda fan_in, fan_out: 2.0 / fan_in,
    "normal": lambda fan_in, fan_out: 1.0,
}
_ALIASES = {"kaiming": "he", "glorot": "xavier"}
#: Bounds no chapter comes near: a huge request is a clear error before any allocation.
MAX_DEPTH, MAX_WIDTH, MAX_PARAMETERS = 1000, 1 << 16, 200_000_000
#: The most numbers :func:`dot_products` draws; the largest int that a float holds exactly.
MAX_DRAWS, _FLOAT_INT = 100_000_000, 2**53


def _scheme(scheme: object) -> str:
    if isinstance(scheme, str):
        scheme = _ALIASES.get(scheme, scheme)
    return _validate.choice(scheme, "scheme", SCHEMES)


def std(scheme: str, fan_in: int, fan_out: int | None = None, gain: float = 1.0) -> float:
    r"""The standard deviation of a scheme's weights, times ``gain``.

    - ``"normal"``: :math:`1`;
    - ``"standard"``: :math:`1/\sqrt{3\,\text{fan}_\text{in}}`, the std of
      :math:`U(-1/\sqrt{\text{fan}_\text{in}}, 1/\sqrt{\text{fan}_\text{in}})`;
    - ``"xavier"`` (``"glorot"``): :math:`\sqrt{2/(\text{fan}_\text{in}+\text{fan}_\text{out})}`;
    - ``"he"`` (``"kaiming"``): :math:`\sqrt{2/\text{fan}_\text{in}}`.

    Args:
        scheme: one of :data:`SCHEMES` (or an alias).
        fan_in: inputs per neuron :math:`n` (the length of each dot product).
        fan_out: outputs of the layer (default: ``fan_in``); only Xavier uses it.
        gain: a factor on the standard deviation (so ``gain**2`` on the variance).

    Examples::

        >>> std("he", 200), math.sqrt(2 / 200)
        (0.1, 0.1)
        >>> round(std("xavier", 100, 300), 6), round(std("standard", 12) ** 2 * 36, 6)
        (0.070711, 1.0)
    """
    scheme = _scheme(scheme)
    fan_in = _validate.integer(fan_in, "fan_in", at_least=1, at_most=_FLOAT_INT)
    fan_out = (fan_in if fan_out is None
               else _validate.integer(fan_out, "fan_out", at_least=1, at_most=_FLOAT_INT))
    gain = _validate.in_range(gain, "gain", 0.0, 1e6)
    return gain * math.sqrt(SCHEMES[scheme](fan_in, fan_out))


def initialize_(weight: torch.Tensor, scheme: str, gain: float = 1.0, *,
                generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill a weight matrix in place with :func:`std`: uniform for ``"standard"``, else normal.

    ``"standard"`` draws :math:`U(-a, a)` with :math:`a = \text{gain}/\sqrt{\text{fan}_\text{in}}`
    (standard deviation :math:`a/\sqrt3`); the others draw
    :math:`N(0, \text{std}^2)`. Fans follow PyTorch: a weight of shape
    :math:`(\text{fan}_\text{out}, \text{fan}_\text{in})`.

    Shape:
        - weight: :math:`(m, n)`, filled and returned

    Examples::

        >>> w = initialize_(torch.empty(300, 200), "he", generator=torch.Generator().manual_seed(0))
        >>> abs(float(w.std()) / std("he", 200) - 1) < 0.01
        True
    """
    weight = _validate.matrix(weight, "weight")
    fan_out, fan_in = weight.shape
    s = std(scheme, fan_in, fan_out, gain)
    with torch.no_grad():
        if _scheme(scheme) == "standard":
            return weight.uniform_(-math.sqrt(3.0) * s, math.sqrt(3.0) * s, generator=generator)
        return weight.normal_(0.0, s, generator=generator)


def torch_initialize_(weight: torch.Tensor, scheme: str, gain: float = 1.0, *,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """The same schemes through ``torch.nn.init``, the reference for :func:`initialize_`.

    ``"normal"``: ``normal_(std=gain)``; ``"standard"``: ``kaiming_uniform_(a=√5)``
    (what ``nn.Linear`` does by default), times ``gain``; ``"xavier"``:
    ``xavier_normal_(gain=gain)``; ``"he"``: ``kaiming_normal_(nonlinearity="relu")``
    (which has no ``gain`` argument: it takes the factor √2 from
    ``calculate_gain("relu")`` on :math:`1/\\sqrt{\\text{fan}_\\text{in}}`), then times ``gain``.

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> w = torch_initialize_(torch.empty(300, 200), "he", generator=g)
        >>> abs(float(w.std()) / std("he", 200) - 1) < 0.01
        True
    """
    weight = _validate.matrix(weight, "weight")
    scheme = _scheme(scheme)
    gain = _validate.in_range(gain, "gain", 0.0, 1e6)
    _validate.generator(generator, optional=True)
    init = nn.init
    with torch.no_grad():
        if scheme == "normal":
            return init.normal_(weight, 0.0, gain, generator=generator)
        if scheme == "xavier":
            return init.xavier_normal_(weight, gain=gain, generator=generator)
        if scheme == "standard":
            init.kaiming_uniform_(weight, a=math.sqrt(5.0), generator=generator)
        else:
            init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)
        return weight.mul_(gain)


def sample_std_tolerance(count: int, scheme: str, z: float = 5.0) -> float:
    r"""A relative tolerance for a sample standard deviation of ``count`` draws.

    For :math:`N` independent draws with kurtosis :math:`\kappa`
    (:math:`3` normal, :math:`9/5` uniform), the sample standard deviation
    :math:`s` has relative standard error :math:`\sqrt{(\kappa-1)/(4N)}`
    (the delta method on :math:`s^2`); ``z`` of them is the tolerance.

    Examples::

        >>> round(sample_std_tolerance(1_000_000, "he"), 5)
        0.00354
    """
    count = _validate.integer(count, "count", at_least=2, at_most=_FLOAT_INT)
    z = _validate.in_range(z, "z", 0.0, 1e3)
    kurtosis = 1.8 if _scheme(scheme) == "standard" else 3.0
    return z * math.sqrt((kurtosis - 1.0) / (4.0 * count))


# --------------------------------------------------------------- one dot product
def predicted_dot_variance(n: int, w_var: float, x_mean: float, x_var: float,
                           w_mean: float = 0.0) -> float:
    r""":math:`\operatorname{Var}(w\cdot x)` for :math:`n` independent terms.

    Each term has :math:`\operatorname{Var}(w_ix_i) = \mathbb E[w^2]\mathbb E[x^2] -
    \mathbb E[w]^2\mathbb E[x]^2`; with :math:`\mathbb E[w] = 0` this is
    :math:`\operatorname{Var}(w)\,\mathbb E[x^2]`, which is
    :math:`\operatorname{Var}(w)\operatorname{Var}(x)` only if :math:`\mathbb E[x] = 0`.

    Examples::

        >>> predicted_dot_variance(100, 0.01, 0.0, 1.0), predicted_dot_variance(100, 0.01, 1.0, 1.0)
        (1.0, 2.0)
    """
    n = _validate.integer(n, "n", at_least=1, at_most=_FLOAT_INT)
    w_var = _validate.in_range(w_var, "w_var", 0.0, 1e150)
    x_var = _validate.in_range(x_var, "x_var", 0.0, 1e150)
    w_mean = _validate.in_range(w_mean, "w_mean", -1e75, 1e75)
    x_mean = _validate.in_range(x_mean, "x_mean", -1e75, 1e75)
    w2 = w_var + w_mean**2
    x2 = x_var + x_mean**2
    return n * (w2 * x2 - w_mean**2 * x_mean**2)


def dot_products(n: int, samples: int, inputs: str = "gaussian", *, w_std: float = 1.0,
                 generator: torch.Generator | None = None, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``samples`` independent dot products :math:`w\cdot x`, fresh :math:`w`, :math:`x` each time.

    :math:`w_i \sim N(0, \texttt{w\_std}^2)`; ``inputs="gaussian"`` draws
    :math:`x_i\sim N(0,1)` (mean 0, variance 1), ``"relu"`` draws
    :math:`x_i = \max(0, g_i)` with :math:`g_i \sim N(0, 1)` (mean
    :math:`1/\sqrt{2\pi}`, second moment :math:`1/2`).

    Shape:
        - output: :math:`(\text{samples})`

    Examples::

        >>> z = dot_products(64, 20_000, generator=torch.Generator().manual_seed(0))
        >>> 0.9 < float(z.var()) / 64 < 1.1
        True
    """
    dev, dtype = placement(device, dtype, generator)
    n = _validate.integer(n, "n", at_least=1, at_most=MAX_DRAWS)
    samples = _validate.integer(samples, "samples", at_least=2, at_most=MAX_DRAWS)
    _validate.integer(n * samples, "n·samples (numbers drawn)", at_most=MAX_DRAWS)
    _validate.choice(inputs, "inputs", ("gaussian", "relu"))
    w_std = _validate.in_range(w_std, "w_std", 0.0, 1e6)
    w = w_std * torch.randn(samples, n, generator=generator, device=dev, dtype=dtype)  # (S, n)
    x = torch.randn(samples, n, generator=generator, device=dev, dtype=dtype)  # (S, n)
    if inputs == "relu":
        x = x.clamp_min(0.0)
    return (w * x).sum(dim=1)  # (S,) one dot product per row


# --------------------------------------------------------------- mean-field theory
def _gaussian_mean(fn: Callable[[np.ndarray], np.ndarray], q: float) -> float:
    r""":math:`\mathbb E[f(z)]` for :math:`z\sim N(0, q)`, by the trapezoid rule.

    The rule runs in :math:`\xi = z/\sqrt q`, with spacing
    :math:`h = \min(1, 1/\sqrt q)/4` on :math:`|\xi|\le 9`. For an integrand
    analytic in a strip (tanh has its poles at :math:`z = \pm i\pi/2`, i.e.
    :math:`\xi = \pm i\pi/(2\sqrt q)`) the trapezoid rule's error falls like
    :math:`e^{-2\pi\,\text{strip}/h}`: about :math:`10^{-12}` relative or better,
    for every :math:`q`.
    (A fixed Gauss–Hermite rule is not enough: for large :math:`q` the integrand's
    features at :math:`|z|\lesssim 1` fall between its nodes.)
    """
    if q == 0.0:
        return float(fn(np.zeros(1))[0])
    root = math.sqrt(q)
    h = min(1.0, 1.0 / root) / 4.0
    xi = np.arange(-math.ceil(9.0 / h), math.ceil(9.0 / h) + 1) * h
    weights = h * np.exp(-0.5 * xi**2) / math.sqrt(2.0 * math.pi)
    # one thread: a few thousand points; a second thread waiting for a busy core made
    # Chapter 9's few-millisecond recursion take hundreds on a loaded machine
    with cpu_threads(1 if torch.get_num_threads() > 1 else None):
        return float(weights @ fn(root * xi))


def _activation(activation: object) -> str:
    return _validate.choice(activation, "activation", list(ACTIVATIONS))


def _phi(activation: str, derivative: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """The activation of :data:`ACTIVATIONS` (or its derivative, by autograd) on a NumPy grid."""
    def fn(z: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.asarray(z, dtype=np.float64)).requires_grad_(derivative)
        with torch.enable_grad():
            out = ACTIVATIONS[activation](t)
            if not derivative:
                return out.detach().numpy()
            (grad,) = torch.autograd.grad(out.sum(), t)
        return grad.numpy()
    return fn


def second_moment(activation: str, q: float) -> float:
    r""":math:`\mathbb E[\phi(z)^2]` for :math:`z\sim N(0, q)`.

    ReLU: :math:`q/2`; linear: :math:`q`; tanh and sigmoid: a Gaussian average by the
    trapezoid rule, accurate to about :math:`10^{-12}` for any :math:`q`.

    Examples::

        >>> second_moment("relu", 2.0), round(second_moment("tanh", 1.0), 4)
        (1.0, 0.3943)
    """
    activation = _activation(activation)
    q = _validate.in_range(q, "q", 0.0, math.inf)
    if activation == "relu":
        return q / 2.0
    if activation == "linear":
        return q
    phi = _phi(activation)
    return _gaussian_mean(lambda z: phi(z) ** 2, q)


def activation_std(activation: str, q: float) -> float:
    r"""The standard deviation of :math:`\phi(z)` for :math:`z\sim N(0, q)`.

    ReLU: :math:`\sqrt{q(1/2 - 1/(2\pi))}` (its mean is :math:`\sqrt{q/(2\pi)}`);
    linear: :math:`\sqrt q`; tanh (odd, mean 0): :math:`\sqrt{\mathbb E[\tanh(z)^2]}`;
    sigmoid: :math:`\sqrt{\mathbb E[\phi^2] - \mathbb E[\phi]^2}` by quadrature.

    Examples::

        >>> round(activation_std("relu", 1.0), 4), activation_std("linear", 4.0)
        (0.5838, 2.0)
    """
    activation = _activation(activation)
    if activation == "relu":
        q = _validate.in_range(q, "q", 0.0, math.inf)
        return math.sqrt(q * (0.5 - 1.0 / (2.0 * math.pi)))
    if activation == "sigmoid":
        mean = _gaussian_mean(_phi(activation), _validate.in_range(q, "q", 0.0, math.inf))
        return math.sqrt(max(second_moment(activation, q) - mean**2, 0.0))
    return math.sqrt(second_moment(activation, q))


def derivative_moment(activation: str, q: float) -> float:
    r""":math:`\mathbb E[\phi'(z)^2]` for :math:`z\sim N(0, q)`: what the backward pass keeps.

    ReLU: :math:`1/2`; linear: :math:`1`; tanh and sigmoid: quadrature of :math:`\phi'^2`
    (e.g. :math:`(1-\tanh^2)^2`), with :math:`\phi'` from autograd.

    Examples::

        >>> derivative_moment("relu", 3.0), round(derivative_moment("tanh", 1.0), 4)
        (0.5, 0.4644)
    """
    activation = _activation(activation)
    q = _validate.in_range(q, "q", 0.0, math.inf)
    if activation == "relu":
        return 0.5
    if activation == "linear":
        return 1.0
    dphi = _phi(activation, derivative=True)
    return _gaussian_mean(lambda z: dphi(z) ** 2, q)


@dataclass(frozen=True)
class MeanField:
    """Predicted second moments, layer by layer (index 0 is layer 1).

    Attributes:
        preactivation: :math:`q_l = \\mathbb E[z_l^2]`.
        gradient: :math:`r_l = \\mathbb E[(\\partial L/\\partial z_l)^2]`, with :math:`r_L = 1`.
        forward_ratio: :math:`q_{l+1}/q_l` for :math:`l = 1..L-1`.
        backward_ratio: :math:`r_l/r_{l+1}` for :math:`l = 1..L-1`.
    """

    preactivation: list[float]
    gradient: list[float]

    @property
    def forward_ratio(self) -> list[float]:
        q = self.preactivation
        return [b / a for a, b in zip(q, q[1:], strict=False)]

    @property
    def backward_ratio(self) -> list[float]:
        r = self.gradient
        return [a / b for a, b in zip(r, r[1:], strict=False)]


def mean_field(depth: int, activation: str, sigma2: float, q1: float = 1.0) -> MeanField:
    r"""The layer-to-layer recursion of second moments in a wide network.

    With :math:`\sigma^2 = n\operatorname{Var}(w)` (square layers,
    :math:`\text{fan}_\text{in} = \text{fan}_\text{out} = n`), zero-mean weights, zero
    biases, and each pre-activation treated as Gaussian (given the previous layer it is
    a sum of :math:`n` independent terms):

    .. math::  q_{l+1} = \sigma^2\,\mathbb E[\phi(z_l)^2], \qquad
               r_l = \sigma^2\,\mathbb E[\phi'(z_l)^2]\; r_{l+1},

    the first from :math:`\operatorname{Var}(w\cdot h) = n\operatorname{Var}(w)\mathbb E[h^2]`,
    the second the same rule for :math:`W^\top g`, with the backward weights treated as
    independent of the forward activations, as both papers do (He et al., 2015, Sec. 2.2;
    Glorot & Bengio, 2010, in the linear regime). It is a wide-network approximation:
    at width :math:`n` each measured ratio scatters by :math:`O(1/\sqrt n)`. For ReLU the
    factor is :math:`\sigma^2/2` in both directions.

    Args:
        depth: number of layers :math:`L`.
        activation: one of :data:`ACTIVATIONS`.
        sigma2: :math:`n\operatorname{Var}(w)`, e.g. ``width * std(...)**2``.
        q1: :math:`\mathbb E[z_1^2]`, the first layer's second moment.

    Examples::

        >>> mf = mean_field(4, "relu", 1.0)  # Xavier on square layers: Var(w) = 1/n
        >>> mf.forward_ratio, mf.backward_ratio
        ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    """
    depth = _validate.integer(depth, "depth", at_least=1, at_most=MAX_DEPTH)
    sigma2 = _validate.in_range(sigma2, "sigma2", 0.0, math.inf)
    q = [_validate.in_range(q1, "q1", 0.0, math.inf)]
    with cpu_threads(1):  # as in _gaussian_mean, once for the whole recursion
        for layer in range(1, depth):
            if math.isinf(q[-1]):
                raise ValueError(f"the pre-activation variance overflowed at layer {layer}: "
                                 f"sigma2 = {sigma2} is too large for depth {depth}; pass a "
                                 f"smaller sigma2 (or q1) or fewer layers")
            q.append(sigma2 * second_moment(activation, q[-1]))
        r = [1.0]
        for ql in reversed(q[:-1]):
            r.append(sigma2 * derivative_moment(activation, ql) * r[-1])
    return MeanField(preactivation=q, gradient=r[::-1])


# --------------------------------------------------------------- a deep network
class Activation(nn.Module):
    """An activation of :data:`ACTIVATIONS` as a module, by name (the one table)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = _validate.choice(name, "name", list(ACTIVATIONS))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name](z)

    def extra_repr(self) -> str:
        return repr(self.name)


def mlp(depth: int, width: int, activation: str = "relu", scheme: str = "he", gain: float = 1.0,
        *, n_in: int | None = None, n_out: int | None = None, bias: str = "zero",
        generator: torch.Generator | None = None, device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32) -> nn.Sequential:
    r"""The book's one MLP builder: ``depth`` linear layers, the activation after each but the last.

    :math:`z_l = W_l h_{l-1} + b_l`, :math:`h_l = \phi(z_l)`; weights from
    :func:`initialize_`, biases zero (``bias="zero"``) or, like ``nn.Linear``'s default,
    :math:`U(\pm 1/\sqrt{\text{fan}_\text{in}})` (``bias="standard"``), each layer's
    weights drawn before its biases. Layer 1 maps ``n_in`` (default ``width``) to
    ``width``, the last maps ``width`` to ``n_out`` (default ``width``).

    Args:
        depth: linear layers :math:`L` (1 … 1000); ``depth=1`` is one layer ``n_in → n_out``.
        width: hidden width :math:`n` (1 … 65,536).
        activation: a name in :data:`ACTIVATIONS` (``linearity``'s table).
        scheme, gain: the weights' initialisation (:func:`std`).
        n_in, n_out: input and output widths.
        bias: ``"zero"`` or ``"standard"``.
        generator, device, dtype: where to draw and build.

    Examples::

        >>> net = mlp(3, 8, "tanh", generator=torch.Generator().manual_seed(0))
        >>> [type(m).__name__ for m in net]
        ['Linear', 'Activation', 'Linear', 'Activation', 'Linear']
    """
    dev, dtype = placement(device, dtype, generator)
    depth = _validate.integer(depth, "depth", at_least=1, at_most=MAX_DEPTH)
    width = _validate.integer(width, "width", at_least=1, at_most=MAX_WIDTH)
    activation = _activation(activation)
    _validate.choice(bias, "bias", ("zero", "standard"))
    n_in = width if n_in is None else _validate.integer(n_in, "n_in", at_most=MAX_WIDTH)
    n_out = width if n_out is None else _validate.integer(n_out, "n_out", at_most=MAX_WIDTH)
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    count = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if count > MAX_PARAMETERS:
        raise ValueError(f"mlp({depth}, {width}) would hold {count:,} parameters; pass a depth "
                         f"and width with at most {MAX_PARAMETERS:,}")
    modules: list[nn.Module] = []
    for k in range(depth):
        layer = nn.Linear(sizes[k], sizes[k + 1], device=dev, dtype=dtype)
        initialize_(layer.weight, scheme, gain, generator=generator)
        with torch.no_grad():
            if bias == "zero":
                layer.bias.zero_()
            else:
                bound = 1.0 / math.sqrt(sizes[k])
                layer.bias.uniform_(-bound, bound, generator=generator)
        modules.append(layer)
        if k < depth - 1:
            modules.append(Activation(activation))
    return nn.Sequential(*modules)


@contextmanager
def record(net: nn.Sequential) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Hooks that record every layer's pre-activation, activation and back-propagated gradient.

    Inside the ``with`` block a forward pass appends each ``Linear``'s output
    :math:`z_l` to ``"z"`` and each activation's output :math:`h_l` to ``"h"``
    (``register_forward_hook``); a backward pass appends
    :math:`\\partial L/\\partial z_l` to ``"grad"`` (``register_full_backward_hook``,
    the ``grad_output`` of each ``Linear``; they arrive from the top layer
    down, and are stored bottom-up when the block ends). The hooks are
    removed on exit. Values are detached.

    Examples::

        >>> net = mlp(2, 4, generator=torch.Generator().manual_seed(0))
        >>> with record(net) as seen:
        ...     net(torch.ones(3, 4, requires_grad=True)).sum().backward()
        >>> len(seen["z"]), len(seen["h"]), len(seen["grad"]), tuple(seen["grad"][0].shape)
        (2, 1, 2, (3, 4))
    """
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be a torch.nn.Sequential (e.g. from mlp), got "
                        f"{type(net).__name__}")
    seen: dict[str, list[torch.Tensor]] = {"z": [], "h": [], "grad": []}
    handles = []
    for module in net:
        if isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(
                lambda _m, _i, out: seen["z"].append(out.detach())))
            handles.append(module.register_full_backward_hook(
                lambda _m, _gi, gout: seen["grad"].append(gout[0].detach())))
        else:
            handles.append(module.register_forward_hook(
                lambda _m, _i, out: seen["h"].append(out.detach())))
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()
        seen["grad"].reverse()  # backward visits the top layer first


@dataclass(frozen=True)
class DepthStatistics:
    """What :func:`depth_statistics` measured, one entry per layer (index 0 is layer 1).

    Attributes:
        activation_std: std of :math:`h_l = \\phi(z_l)` (the last layer has no
            activation: its :math:`z_L`).
        preactivation_ms: :math:`\\overline{z_l^2}`, the second moment of the dot products.
        gradient_std: std of :math:`\\partial L/\\partial z_l`.
        gradient_ms: :math:`\\overline{(\\partial L/\\partial z_l)^2}`.
        saturated: share of units with :math:`|h_l| > 0.99` (tanh saturation; 0 otherwise).
        weight_gradient_norm: :math:`\\lVert\\partial L/\\partial W_l\\rVert_F`, the gradient of
            the layer's weights, :math:`\\sum_i g_{l,i}\\,h_{l-1,i}^\\top` over the batch.
        sigma2: :math:`n\\operatorname{Var}(w)` of the hidden layers.
    """

    activation_std: list[float]
    preactivation_ms: list[float]
    gradient_std: list[float]
    gradient_ms: list[float]
    saturated: list[float]
    weight_gradient_norm: list[float]
    sigma2: float

    @property
    def forward_ratio(self) -> list[float]:
        """:math:`\\overline{z_{l+1}^2}/\\overline{z_l^2}`."""
        q = self.preactivation_ms
        return [b / a if a > 0 else math.nan for a, b in zip(q, q[1:], strict=False)]

    @property
    def backward_ratio(self) -> list[float]:
        """:math:`\\overline{g_l^2}/\\overline{g_{l+1}^2}` (gradients flow downward)."""
        r = self.gradient_ms
        return [a / b if b > 0 else math.nan for a, b in zip(r, r[1:], strict=False)]


def depth_statistics(depth: int = 30, width: int = 256, activation: str = "relu",
                     scheme: str = "he", gain: float = 1.0, *, batch: int = 128,
                     generator: torch.Generator | None = None,
                     device: torch.device | str | None = None,
                     dtype: torch.dtype = torch.float32) -> DepthStatistics:
    r"""Run a fresh deep network forward and backward once, and record each layer's statistics.

    The network is :func:`mlp` ``(depth, width, activation, scheme, gain)`` on
    square layers; the input is a batch of :math:`N(0, 1)` vectors, and the
    loss is :math:`L = \sum r\odot z_L` with :math:`r\sim N(0, 1)`, so that the
    top layer receives unit-variance errors and every ratio below it is the
    network's own doing. The hooks of :func:`record` collect :math:`z_l`,
    :math:`h_l` and :math:`\partial L/\partial z_l`.

    Args:
        depth: layers :math:`L` (1 … 200).
        width: neurons per layer :math:`n`.
        activation: a name in :data:`ACTIVATIONS`.
        scheme, gain: the initialisation (:func:`std`).
        batch: inputs per pass.
        generator, device, dtype: where to draw and compute.

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> s = depth_statistics(10, 64, "linear", "xavier", generator=g)
        >>> len(s.activation_std), 0.5 < s.preactivation_ms[-1] < 2.0
        (10, True)
    """
    dev, dtype = placement(device, dtype, generator)
    depth = _validate.integer(depth, "depth", at_least=1, at_most=200)
    width = _validate.integer(width, "width", at_least=1, at_most=4096)
    batch = _validate.integer(batch, "batch", at_least=2, at_most=65_536)
    # one intra-op thread on the CPU: these matrices are small, and a second thread
    # only waits for a busy core (a slider move took 5x longer on a loaded machine)
    with cpu_threads(1 if dev.type == "cpu" else None):
        net = mlp(depth, width, activation, scheme, gain, generator=generator, device=dev,
                  dtype=dtype)
        x = torch.randn(batch, width, generator=generator, device=dev, dtype=dtype)  # (B, n)
        r = torch.randn(batch, width, generator=generator, device=dev, dtype=dtype)  # (B, n)
        x.requires_grad_(True)  # so that the first layer's backward hook sees an input gradient
        with torch.enable_grad(), record(net) as seen:
            (net(x) * r).sum().backward()
        h = torch.stack(seen["h"] + [seen["z"][-1]]).flatten(1)  # (L, B·n); z_L: no activation
        z = torch.stack(seen["z"]).flatten(1)  # (L, B·n)
        g = torch.stack(seen["grad"]).flatten(1)  # (L, B·n)
        w_norm = torch.stack([torch.linalg.vector_norm(m.weight.grad)
                              for m in net if isinstance(m, nn.Linear)])  # (L,)
        saturated = ((h.abs() > 0.99).to(dtype).mean(dim=1) if activation == "tanh"
                     else torch.zeros(depth, device=dev, dtype=dtype))  # (L,)
        stats = torch.stack([h.std(dim=1), z.std(dim=1), z.mean(dim=1), g.std(dim=1),
                             g.mean(dim=1), saturated,
                             w_norm])  # (7, L)
    h_std, z_std, z_mean, g_std, g_mean, saturated, w_grad = stats.cpu().tolist()
    count = batch * width
    # second moments from std and mean in Python floats: squaring in float32 would
    # overflow for exploding gradients (above 1.8e19)
    def moment(s: float, m: float) -> float:
        return s * s * (count - 1) / count + m * m

    columns = [h_std, [moment(s, m) for s, m in zip(z_std, z_mean, strict=True)], g_std,
               [moment(s, m) for s, m in zip(g_std, g_mean, strict=True)], saturated, w_grad]
    return DepthStatistics(*columns, sigma2=width * std(scheme, width, width, gain) ** 2)


# --------------------------------------------------------------- does it learn?
@dataclass(frozen=True)
class TrainingRun:
    """A short training run: the loss at each step and the accuracy at the end."""

    loss: list[float]
    train_accuracy: float
    test_accuracy: float


def train_classifier(net: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor,
                     x_test: torch.Tensor, y_test: torch.Tensor, *, steps: int = 100,
                     batch: int = 128, lr: float = 0.02, momentum: float = 0.9,
                     generator: torch.Generator | None = None) -> TrainingRun:
    r"""Minibatch SGD with momentum on the cross-entropy (:func:`dotbook.training.fit`),
    then the accuracies on the training and test sets.

    Each step draws ``batch`` training examples (with ``generator``), so two
    networks trained with equal generators see the same batches. Every input is
    checked by ``fit`` (labels in range for the net's outputs, x's dtype and
    device against the net's, rows, a finite positive ``lr``); the test part the same way.

    Shape:
        - x_train: :math:`(N, n)`, y_train: :math:`(N)` int64; likewise the test part

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(64, 4, generator=g); y = (x[:, 0] > 0).long()
        >>> run = train_classifier(mlp(2, 8, n_in=4, n_out=2, generator=g), x, y, x, y,
        ...                        steps=50, batch=32, lr=0.1, generator=g)
        >>> run.train_accuracy > 0.8
        True
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module (e.g. from mlp), got "
                        f"{type(net).__name__}")
    x_train = _validate.finite(_validate.matrix(x_train, "x_train"), "x_train")
    batch = _validate.integer(batch, "batch", at_most=1_000_000)
    y_train = _validate.labels(y_train, x_train, "y_train")
    x_test = _validate.matrix(x_test, "x_test")
    y_test = _validate.labels(y_test, x_test, "y_test")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"x_test has {x_test.shape[1]} columns but x_train has "
                         f"{x_train.shape[1]}; pass the same features")
    first = next(net.parameters(), None) if isinstance(net, nn.Module) else None
    if first is not None:
        for x, name in ((x_train, "x_train"), (x_test, "x_test")):
            if (x.dtype, x.device) != (first.dtype, first.device):
                raise TypeError(f"{name} is {x.dtype} on {x.device} but the net's parameters "
                                f"are {first.dtype} on {first.device}; pass "
                                f"{name}.to(dtype=..., device=...)")
        training._fit_targets(net, x_train, y_train, "cross_entropy", "y_train")
        training._fit_targets(net, x_test, y_test, "cross_entropy", "y_test")
    losses = training.fit(net, x_train, y_train, loss="cross_entropy", optimizer="sgd", lr=lr,
                          steps=steps, batch=batch, generator=generator, momentum=momentum)
    with torch.no_grad():
        train_acc = layers.accuracy(net(x_train), y_train)
        test_acc = layers.accuracy(net(x_test), y_test)
    return TrainingRun(losses, train_acc, test_acc)
