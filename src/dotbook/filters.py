r"""Chapter 6's experiments on an image: oriented filters, shifts, pooling.

Built on :mod:`dotbook.conv`, so that the chapter's figures only draw:

- :func:`edge_response`: an oriented edge detector :math:`k_\theta` over an image,
  directly or steered from two basis responses (a convolution is linear in its kernel);
- :func:`shifted_stack`, :func:`shifted_outputs`: both sides of :math:`f(Sx) = S f(x)`
  (equivariance), exact with circular padding, away from the borders with zeros;
- :func:`feature_maps`, :func:`pooling_changes`: a small conv layer, and how much local and
  global pooling change when the image shifts (invariance: weak, and exact).

Every function takes a grey image :math:`(H, W)` on any device and returns on the same device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dotbook import _validate
from dotbook.conv import _PADDING_MODES, MAX_SIZE, conv2d, edge_kernel, translate

__all__ = [
    "POOLINGS",
    "edge_response",
    "feature_maps",
    "pooling_changes",
    "shifted_outputs",
    "shifted_stack",
]


def _image(image: object, name: str = "image") -> torch.Tensor:
    image = _validate.tensor(image, name)
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(f"{name} must be one grey image of shape (H, W), got "
                         f"{tuple(image.shape)}")
    for size, axis in zip(image.shape, ("H", "W"), strict=True):
        _validate.integer(size, f"{name}'s {axis}", at_most=MAX_SIZE)
    return _validate.finite(image, name)


def edge_response(image: torch.Tensor, angle_deg: float, size: int = 7, sigma: float = 1.2, *,
                  method: str = "steer") -> tuple[torch.Tensor, torch.Tensor]:
    r"""The edge kernel :math:`k_\theta` and its response on ``image`` (replicate padding).

    ``method="conv"`` convolves with :math:`k_\theta` directly. ``"steer"`` uses
    that a convolution is linear in its kernel: since
    :math:`k_\theta = c_\theta(\cos\theta\,k_0 + \sin\theta\,k_{90})` with
    :math:`c_\theta = 2/\lVert\cos\theta\,k_0 + \sin\theta\,k_{90}\rVert_1`, the
    response is the same mix of the two basis responses (one convolution with
    two filters). Both agree to rounding.

    Args:
        image: a grey image.
        angle_deg, size, sigma: as :func:`edge_kernel`.
        method: ``"steer"`` or ``"conv"``.

    Shape:
        - image: :math:`(H, W)`; output: the kernel :math:`(k, k)` and the response :math:`(H, W)`

    Examples::

        >>> img = torch.linspace(0, 1, 12, dtype=torch.float64).repeat(8, 1)  # brighter →
        >>> _, steered = edge_response(img, 30.0)
        >>> _, direct = edge_response(img, 30.0, method="conv")
        >>> bool(torch.allclose(steered, direct))
        True
    """
    image = _image(image)
    _validate.choice(method, "method", ("steer", "conv"))
    k = edge_kernel(angle_deg, size, sigma, device=image.device, dtype=image.dtype)  # (k, k)
    pad = size // 2
    if method == "conv":
        kernels = k[None, None]  # (1, 1, k, k)
    else:
        kernels = torch.stack([edge_kernel(0.0, size, sigma, device=image.device,
                                           dtype=image.dtype),
                               edge_kernel(90.0, size, sigma, device=image.device,
                                           dtype=image.dtype)])[:, None]  # (2, 1, k, k)
    maps = conv2d(image[None, None], kernels, padding=pad, padding_mode="replicate")[0]
    if method == "conv":
        return k, maps[0]  # (H, W)
    theta = math.radians(angle_deg)
    mix = math.cos(theta) * kernels[0, 0] + math.sin(theta) * kernels[1, 0]  # (k, k)
    scale = 2.0 / float(mix.abs().sum())
    return k, scale * (math.cos(theta) * maps[0] + math.sin(theta) * maps[1])  # (H, W)


def _edge_filter(image: torch.Tensor) -> torch.Tensor:
    return edge_kernel(0.0, 5, 1.0, device=image.device, dtype=image.dtype)[None, None]


def shifted_stack(image: torch.Tensor, shifts: Sequence[int]) -> dict[str, torch.Tensor]:
    r"""Both sides of :math:`f(Sx) = S f(x)` for several horizontal shifts, two ways.

    :math:`f` is the 5×5 edge filter ``edge_kernel(0, 5, 1)`` with 'same'
    padding; :math:`S` shifts by ``dx`` columns. ``"circular_*"``: a circular
    shift with circular padding (exactly equivariant); ``"zeros_*"``: a
    zero-filling shift with zero padding (equivariant away from the borders).
    One batched convolution per padding mode.

    Shape:
        - image: :math:`(H, W)`; each entry :math:`(S, H, W)`, one map per shift

    Examples::

        >>> img = torch.rand(6, 9, generator=torch.Generator().manual_seed(0),
        ...                  dtype=torch.float64)
        >>> out = shifted_stack(img, [2, -1])
        >>> bool(torch.allclose(out["circular_conv_of_shift"], out["circular_shift_of_conv"]))
        True
    """
    image = _image(image)
    if isinstance(shifts, (str, torch.Tensor)) or not isinstance(shifts, Sequence):
        raise TypeError(f"shifts must be a list of ints (columns), got {type(shifts).__name__}")
    _validate.integer(len(shifts), "len(shifts)", at_most=1024)
    shifts = [_validate.integer(dx, f"shifts[{i}]", at_least=-MAX_SIZE, at_most=MAX_SIZE)
              for i, dx in enumerate(shifts)]
    kernel = _edge_filter(image)  # (1, 1, 5, 5)
    out = {}
    for mode in ("circular", "zeros"):  # the shift and the padding treat the border alike
        moved = torch.stack([translate(image, 0, dx, mode=mode) for dx in shifts])  # (S, H, W)
        both = torch.cat([moved, image[None]])[:, None]  # (S + 1, 1, H, W): the last unshifted
        maps = conv2d(both, kernel, padding=2, padding_mode=mode)[:, 0]  # (S + 1, H, W)
        out[f"{mode}_conv_of_shift"] = maps[:-1]  # f(Sx)
        out[f"{mode}_shift_of_conv"] = torch.stack(
            [translate(maps[-1], 0, dx, mode=mode) for dx in shifts])  # S f(x)
    return out


def shifted_outputs(image: torch.Tensor, dx: int) -> dict[str, torch.Tensor]:
    """:func:`shifted_stack` for one shift ``dx``: each entry ``(H, W)``.

    Examples::

        >>> img = torch.rand(6, 9, generator=torch.Generator().manual_seed(0),
        ...                  dtype=torch.float64)
        >>> sorted(shifted_outputs(img, 3))[:2]
        ['circular_conv_of_shift', 'circular_shift_of_conv']
    """
    dx = _validate.integer(dx, "dx", at_least=-MAX_SIZE, at_most=MAX_SIZE)
    return {name: maps[0] for name, maps in shifted_stack(image, [dx]).items()}


def feature_maps(x: torch.Tensor, angles: Sequence[float] = (0.0, 45.0, 90.0, 135.0),
                 mode: str = "circular") -> torch.Tensor:
    r"""A small conv layer: ReLU of 5×5 edge filters at ``angles`` over ``x``, 'same' padding.

    .. math::  g_c(x) = \operatorname{ReLU}(k_{\theta_c} \star x), \quad c = 1, \dots, C

    Shape:
        - x: :math:`(H, W)`; output: :math:`(C, H, W)`, one map per angle

    Examples::

        >>> feature_maps(torch.zeros(6, 8)).shape
        torch.Size([4, 6, 8])
    """
    x = _image(x, "x")
    if isinstance(angles, (str, torch.Tensor)) or not isinstance(angles, Sequence):
        raise TypeError(f"angles must be a list of numbers (degrees), got "
                        f"{type(angles).__name__}")
    _validate.integer(len(angles), "len(angles)", at_most=360)
    for i, a in enumerate(angles):
        _validate.in_range(a, f"angles[{i}]", -360.0, 360.0)
    _validate.choice(mode, "mode", _PADDING_MODES)
    k = torch.stack([edge_kernel(a, 5, 1.0, dtype=x.dtype, device=x.device)
                     for a in angles])[:, None]  # (C_out, 1, 5, 5)
    return torch.relu(conv2d(x[None], k, padding=2, padding_mode=mode))  # (C_out, H, W)


#: The representations :func:`pooling_changes` compares, in order.
POOLINGS: tuple[str, ...] = ("feature map, no pooling", "2×2 max pooling", "4×4 max pooling",
                             "global average pooling", "global max pooling")


def pooling_changes(image: torch.Tensor, shifts: Sequence[int]) -> dict[str, list[float]]:
    r"""Relative change :math:`\lVert g(Sx) - g(x)\rVert / \lVert g(x)\rVert` of a
    representation :math:`g` when ``image`` is shifted circularly by ``s`` columns.

    :math:`g` is one of :data:`POOLINGS`: the :func:`feature_maps` themselves, max
    pooling over 2×2 or 4×4 windows (stride = window), or a global average or global
    max over all positions. Global pooling of a circular convolution is exactly
    invariant; local pooling only partly (weak invariance).

    Shape:
        - image: :math:`(H, W)`; output: for each name, one number per shift

    Examples::

        >>> img = torch.rand(8, 12, generator=torch.Generator().manual_seed(0),
        ...                  dtype=torch.float64)
        >>> changes = pooling_changes(img, [1])
        >>> changes["global max pooling"][0] < 1e-12 < changes["2×2 max pooling"][0]
        True
    """
    x = _image(image)
    if isinstance(shifts, (str, torch.Tensor)) or not isinstance(shifts, Sequence):
        raise TypeError(f"shifts must be a list of ints (columns), got {type(shifts).__name__}")
    _validate.integer(len(shifts), "len(shifts)", at_most=1024)
    for i, s in enumerate(shifts):
        _validate.integer(s, f"shifts[{i}]", at_least=-MAX_SIZE, at_most=MAX_SIZE)
    base = feature_maps(x)  # (C, H, W)
    pools = dict(zip(POOLINGS, (
        lambda f: f,
        lambda f: F.max_pool2d(f, 2),
        lambda f: F.max_pool2d(f, 4),
        lambda f: f.mean(dim=(-2, -1)),
        lambda f: f.amax(dim=(-2, -1)),
    ), strict=True))
    out: dict[str, list[float]] = {name: [] for name in pools}
    for s in shifts:
        s = _validate.integer(s, "shift", at_least=-MAX_SIZE, at_most=MAX_SIZE)
        moved = feature_maps(translate(x, 0, s))
        for name, pool in pools.items():
            ref = pool(base)
            out[name].append(float(torch.linalg.vector_norm(pool(moved) - ref)
                                   / torch.linalg.vector_norm(ref)))
    return out
