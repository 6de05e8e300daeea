r"""The dot product and the geometry it carries (Chapter 1; Chapter 3 builds on it).

Two definitions of one number. Algebraically,

.. math::  a \cdot b = \sum_{i=1}^{n} a_i b_i ,

and geometrically, with :math:`\theta` the angle between the two vectors,

.. math::  a \cdot b = \lVert a \rVert \, \lVert b \rVert \cos\theta .

Everything else here follows: the norm is :math:`\lVert a \rVert = \sqrt{a \cdot a}`,
the cosine similarity is :math:`\cos\theta = a\cdot b / (\lVert a\rVert\lVert b\rVert)`,
and the projection of :math:`a` onto :math:`b` is
:math:`(a \cdot b / b \cdot b)\, b`.

Each function accepts one vector ``(n,)`` or a batch ``(*, n)`` of them, on any
device, and returns on the same device. :func:`dot_loop` is the plain Python
reference that the fast versions are tested against.
"""

from __future__ import annotations

import math

import torch

from dotbook import _validate
from dotbook import device as _device

__all__ = ["dot_loop", "dot", "norm", "unit", "cosine", "angle", "project", "from_polar",
           "pair_readout"]


def dot_loop(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""The definition, one multiply-add at a time: :math:`\sum_i a_i b_i`.

    The slow, obviously-correct twin of :func:`dot`, accumulated in a Python
    float (double precision).

    Args:
        a: first vector.
        b: second vector, same length as ``a``.

    Shape:
        - a, b: :math:`(n)`
        - output: a Python ``float``

    Examples::

        >>> dot_loop(torch.tensor([1., 2., 3.]), torch.tensor([4., -5., 6.]))
        12.0
    """
    a, b = _validate.vector(a, "a"), _validate.vector(b, "b")
    _validate.same_shape(a, b)
    total = 0.0
    for a_i, b_i in zip(a.tolist(), b.tolist(), strict=True):
        total += a_i * b_i
    return total


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Dot product over the last dimension: :math:`\sum_i a_i b_i`.

    Args:
        a: vectors of length :math:`n`.
        b: vectors of the same shape as ``a`` (no broadcasting).

    Shape:
        - a, b: :math:`(*, n)`
        - output: :math:`(*)`

    Examples::

        >>> dot(torch.tensor([1., 2., 3.]), torch.tensor([4., -5., 6.]))
        tensor(12.)
        >>> dot(torch.eye(2), torch.ones(2, 2))
        tensor([1., 1.])
    """
    a, b = _validate.batched(a, "a"), _validate.batched(b, "b")
    _validate.same_shape(a, b)
    return torch.linalg.vecdot(a, b)


def norm(a: torch.Tensor) -> torch.Tensor:
    r"""Euclidean length from the dot product: :math:`\lVert a\rVert = \sqrt{a\cdot a}`.

    Computed as :math:`m \,\lVert a/m \rVert` with :math:`m = \max_i |a_i|`, so
    that squaring neither underflows (``1e-200``) nor overflows (``1e200``),
    as LAPACK's ``nrm2`` does.

    Shape:
        - a: :math:`(*, n)`
        - output: :math:`(*)`

    Examples::

        >>> norm(torch.tensor([3., 4.]))
        tensor(5.)
    """
    a = _validate.finite(_validate.batched(a, "a"), "a")
    m = a.abs().amax(dim=-1, keepdim=True)  # (*, 1)
    m = torch.where(m > 0, m, torch.ones_like(m))
    return m.squeeze(-1) * torch.linalg.vector_norm(a / m, dim=-1)


def _nonzero(length: torch.Tensor, name: str) -> None:
    if bool((length == 0).any()):
        count = int((length == 0).sum())
        raise ValueError(
            f"{name} contains {count} zero vector(s): the angle to a zero vector is "
            f"undefined; pass non-zero vectors"
        )


def unit(a: torch.Tensor, *, name: str = "a") -> torch.Tensor:
    r"""The unit vector :math:`\hat a = a / \lVert a\rVert` in the direction of ``a``.

    Zero vectors have no direction and raise ``ValueError`` (``name`` is how
    the message calls ``a``). The length comes from :func:`norm`, so tiny and
    huge vectors neither underflow nor overflow.

    Shape:
        - a: :math:`(*, n)`
        - output: :math:`(*, n)`, every vector of length 1

    Examples::

        >>> unit(torch.tensor([3., 4.]))
        tensor([0.6000, 0.8000])
        >>> unit(torch.tensor([[1e-200, 0.0]], dtype=torch.float64))
        tensor([[1., 0.]], dtype=torch.float64)
    """
    _validate.text(name, "name")
    a = _validate.finite(_validate.batched(a, name), name)
    length = norm(a)  # (*)
    _nonzero(length, name)
    return a / length.unsqueeze(-1)  # (*, n)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Cosine similarity :math:`\cos\theta = \dfrac{a\cdot b}{\lVert a\rVert\,\lVert b\rVert}`.

    Computed as :math:`\hat a\cdot\hat b` on the unit vectors, so it neither
    underflows nor overflows for tiny or huge inputs, and clamped to
    :math:`[-1, 1]` against rounding. Zero vectors have no direction and raise
    ``ValueError``.

    Shape:
        - a, b: :math:`(*, n)`
        - output: :math:`(*)`

    Examples::

        >>> cosine(torch.tensor([1., 0.]), torch.tensor([1., 1.]))
        tensor(0.7071)
    """
    a, b = _validate.batched(a, "a"), _validate.batched(b, "b")
    _validate.same_shape(a, b)
    _validate.finite(a, "a"), _validate.finite(b, "b")
    a_hat, b_hat = unit(a, name="a"), unit(b, name="b")  # (*, n)
    return dot(a_hat, b_hat).clamp(-1.0, 1.0)


def angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Angle :math:`\theta \in [0, \pi]` between ``a`` and ``b``, in radians.

    ``arccos`` of the cosine loses half the digits near 0 and π. This uses
    Kahan's well-conditioned form on the unit vectors
    :math:`\hat a = a/\lVert a\rVert`, :math:`\hat b = b/\lVert b\rVert`:

    .. math::  \theta = 2 \operatorname{atan2}\!\big(\lVert \hat a - \hat b\rVert,\,
               \lVert \hat a + \hat b\rVert\big).

    Shape:
        - a, b: :math:`(*, n)`
        - output: :math:`(*)`

    Examples::

        >>> torch.rad2deg(angle(torch.tensor([1., 0.]), torch.tensor([0., 2.])))
        tensor(90.)
    """
    a, b = _validate.batched(a, "a"), _validate.batched(b, "b")
    _validate.same_shape(a, b)
    _validate.finite(a, "a"), _validate.finite(b, "b")
    a_hat, b_hat = unit(a, name="a"), unit(b, name="b")  # (*, n)
    return 2 * torch.atan2(norm(a_hat - b_hat), norm(a_hat + b_hat))


def project(a: torch.Tensor, onto: torch.Tensor) -> torch.Tensor:
    r"""Orthogonal projection of ``a`` onto the line through ``onto``:
    :math:`\operatorname{proj}_b a = \dfrac{a\cdot b}{b\cdot b}\, b`.

    Its signed length is :math:`a\cdot\hat b = \lVert a\rVert\cos\theta`, and
    :math:`a - \operatorname{proj}_b a` is orthogonal to :math:`b`.

    Shape:
        - a, onto: :math:`(*, n)`
        - output: :math:`(*, n)`

    Examples::

        >>> project(torch.tensor([2., 3.]), torch.tensor([1., 0.]))
        tensor([2., 0.])
    """
    a, b = _validate.batched(a, "a"), _validate.batched(onto, "onto")
    _validate.same_shape(a, b, "a, onto")
    _validate.finite(a, "a"), _validate.finite(b, "onto")
    bb = dot(b, b)  # (*)
    _nonzero(bb, "onto")
    return (dot(a, b) / bb).unsqueeze(-1) * b


def from_polar(length: float, theta: float, *, dtype: torch.dtype = torch.float64,
               device: torch.device | str | None = None) -> torch.Tensor:
    r"""The 2-D vector :math:`\ell\,(\cos\theta, \sin\theta)`; ``theta`` in radians,
    made on ``device`` (default: the CPU) with ``dtype`` (a floating-point dtype; an integer
    dtype is refused rather than rounding the coordinates).

    Shape:
        - output: :math:`(2)`

    Examples::

        >>> from_polar(2.0, 0.0)
        tensor([2., 0.], dtype=torch.float64)
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch dtype, got {dtype!r}: the "
                        f"coordinates cos θ and sin θ are not integers; pass "
                        f"dtype=torch.float64 or dtype=torch.float32")
    _device.check(device, dtype)
    length = _validate.in_range(length, "length", 0.0, float("inf"))
    theta = _validate.in_range(theta, "theta", -1e6, 1e6)
    t = torch.tensor(theta, dtype=dtype, device=device)
    return length * torch.stack([torch.cos(t), torch.sin(t)])


#: |cos θ| at or below this reads as orthogonal (exact zeros, and rounding around them)
ORTHOGONAL_COS = 1e-12


def pair_readout(a: torch.Tensor, b: torch.Tensor) -> dict[str, float | str | None]:
    r"""Everything the drag figure of Chapter 1 reads off two plane vectors:

    .. math::  a\cdot b = a_1b_1 + a_2b_2 = \lVert a\rVert\lVert b\rVert\cos\theta ,
               \qquad \operatorname{comp}_a b = \frac{a\cdot b}{\lVert a\rVert} .

    Computed by PyTorch on the vectors' device, one operation at a time in the
    order the book's JavaScript port (``pairReadout`` in
    ``src/dotbook/static/dotbook-drag.js``) uses, so the two agree to rounding
    (a test holds them within 1e-12). The angle is
    :math:`\theta = \operatorname{atan2}(|a_1b_2 - a_2b_1|,\, a\cdot b)` in degrees.
    With a zero vector there is no angle: ``cos``, ``theta_deg`` and ``geometric``
    are ``None``, ``region`` is ``"undefined"``, and with ``a = 0`` so are
    ``projection`` and ``foot``.

    Args:
        a, b: plane vectors, floating point, same dtype and device.

    Returns:
        a dict of Python floats (or ``None``): ``dot`` (:math:`\sum_i a_ib_i`),
        ``geometric`` (:math:`\lVert a\rVert\lVert b\rVert\cos\theta`), ``norm_a``,
        ``norm_b``, ``cos``, ``theta_deg``, ``projection`` (the signed length of
        b's projection on a), ``foot_x``, ``foot_y`` (that projection's tip) and
        ``region`` (``"aligned"``, ``"orthogonal"``, ``"opposed"`` or ``"undefined"``).

    Shape:
        - a, b: :math:`(2)`

    Examples::

        >>> a, b = torch.tensor([3., 0.]).double(), torch.tensor([2., 2.]).double()
        >>> r = pair_readout(a, b)
        >>> r["dot"], r["norm_a"], r["theta_deg"], r["projection"], r["region"]
        (6.0, 3.0, 45.0, 2.0, 'aligned')
        >>> pair_readout(torch.tensor([0., 0.]), torch.tensor([1., 2.]))["cos"] is None
        True
    """
    a, b = _validate.vector(a, "a"), _validate.vector(b, "b")
    _validate.same_shape(a, b)
    if a.shape != (2,):
        raise ValueError(f"a and b must be plane vectors of shape (2,), got {tuple(a.shape)}")
    _validate.finite(a, "a"), _validate.finite(b, "b")
    ab, aa, bb = a * b, a * a, b * b  # (2,) each: the products, one rounding each
    dot_ab = ab[0] + ab[1]
    cross = a[0] * b[1] - a[1] * b[0]
    theta = torch.atan2(cross.abs(), dot_ab)
    dot_v, norm_a, norm_b, theta_v, a1, a2 = torch.stack(
        [dot_ab, torch.sqrt(aa[0] + aa[1]), torch.sqrt(bb[0] + bb[1]), theta, a[0], a[1]]
    ).tolist()  # one transfer from the device
    out: dict[str, float | str | None] = {
        "dot": dot_v, "geometric": None, "norm_a": norm_a, "norm_b": norm_b, "cos": None,
        "theta_deg": None, "projection": None, "foot_x": None, "foot_y": None,
        "region": "undefined"}
    if norm_a > 0:
        scale = dot_v / (norm_a * norm_a)
        out.update(projection=dot_v / norm_a, foot_x=scale * a1, foot_y=scale * a2)
    if norm_a > 0 and norm_b > 0:
        cos = min(1.0, max(-1.0, dot_v / (norm_a * norm_b)))
        out.update(cos=cos, geometric=norm_a * norm_b * cos, theta_deg=theta_v * (180 / math.pi),
                   region="aligned" if cos > ORTHOGONAL_COS else
                   "opposed" if cos < -ORTHOGONAL_COS else "orthogonal")
    return out
