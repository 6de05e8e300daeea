r"""Chapter 6: convolution, one small dot product slid over an image.

A 2-D convolution computes one dot product per output pixel: the flattened
filter against the flattened receptive field. :func:`conv2d_loop` writes it as
loops, :func:`conv2d` as im2col plus one matrix product; both equal
``F.conv2d``. :func:`conv_geometry` checks a configuration and computes the
output size, :func:`receptive_field` says which pixels an output reads, and
:func:`conv_vs_dense` counts what weight sharing saves.

:func:`edge_kernel` makes an oriented edge detector and :func:`translate`
shifts an image; the chapter's experiments with them (edge responses,
equivariance, pooling) are :mod:`dotbook.filters`.

Every function accepts tensors on any device and returns on the same device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dotbook import _validate
from dotbook.device import placement

__all__ = [
    "ConvGeometry",
    "LayerCost",
    "conv2d",
    "conv2d_loop",
    "conv_geometry",
    "conv_vs_dense",
    "edge_kernel",
    "receptive_field",
    "translate",
]

#: Largest size along any axis (batch, channels, rows, columns, kernel) a chapter could use.
MAX_SIZE = 1 << 16
#: Largest number of numbers :func:`conv2d` may copy into its im2col matrix (8 GiB in float64).
MAX_COLUMNS = 1 << 30
#: Largest number of output pixels :func:`conv2d_loop` computes one Python loop step each.
MAX_LOOP = 1 << 20
#: Largest side of an :func:`edge_kernel`.
MAX_KERNEL = 99
_PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


@dataclass(frozen=True)
class ConvGeometry:
    r"""Everything a 2-D convolution's shape depends on, checked once.

    Output size per axis (Dumoulin & Visin 2016, relationship 15):

    .. math::  H_{out} = \left\lfloor \frac{H + p_{top} + p_{bottom} - d\,(k - 1) - 1}{s}
               \right\rfloor + 1
    """

    batch: int
    c_in: int
    c_out: int
    groups: int
    size: tuple[int, int]  #: input (H, W)
    kernel: tuple[int, int]  #: (kH, kW)
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int, int, int]  #: (left, right, top, bottom), F.pad's order
    padding_mode: str
    out: tuple[int, int]  #: (H_out, W_out)

    @property
    def dot_length(self) -> int:
        """Length of each dot product: :math:`(C_{in}/\\text{groups})\\,k_H k_W`."""
        return self.c_in // self.groups * self.kernel[0] * self.kernel[1]


def _pair(value: object, name: str, *, minimum: int) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum} in each direction, got {value!r}")
        _validate.integer(v, name, at_least=minimum, at_most=MAX_SIZE)
    return pair  # type: ignore[return-value]


def conv_geometry(x_shape: Sequence[int], weight_shape: Sequence[int], *,
                  stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] | str = 0,
                  dilation: int | tuple[int, int] = 1, groups: int = 1,
                  padding_mode: str = "zeros") -> ConvGeometry:
    r"""Check a convolution's configuration and compute its output size.

    Args:
        x_shape: :math:`(B, C_{in}, H, W)` (or :math:`(C_{in}, H, W)`).
        weight_shape: :math:`(C_{out}, C_{in}/\text{groups}, k_H, k_W)`.
        stride, padding, dilation, groups, padding_mode: as for :func:`conv2d`.

    Examples::

        >>> g = conv_geometry((1, 3, 32, 32), (8, 3, 5, 5), stride=2, padding=2)
        >>> g.out, g.dot_length
        ((16, 16), 75)
    """
    for shape, name in ((x_shape, "x_shape"), (weight_shape, "weight_shape")):
        if isinstance(shape, (str, bytes)) or not isinstance(shape, (list, tuple, torch.Size)):
            raise TypeError(f"{name} must be a tuple of ints such as (1, 3, 32, 32), got "
                            f"{shape!r}")
    x_shape, weight_shape = tuple(x_shape), tuple(weight_shape)
    if len(x_shape) == 3:
        x_shape = (1, *x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x_shape (x's shape) must be (B, C_in, H, W) or (C_in, H, W), got "
                         f"{x_shape}")
    if len(weight_shape) != 4:
        raise ValueError(f"weight_shape (weight's shape) must be (C_out, C_in/groups, kH, kW), "
                         f"got {weight_shape}")
    for dim, name in zip(x_shape, ("B", "C_in", "H", "W"), strict=True):
        _validate.integer(dim, f"x_shape's {name}", at_most=MAX_SIZE)
    for dim, name in zip(weight_shape, ("C_out", "C_in/groups", "kH", "kW"), strict=True):
        if isinstance(dim, int) and dim < 1:
            raise ValueError(f"weight_shape {weight_shape} has an empty dimension")
        _validate.integer(dim, f"weight_shape's {name}", at_most=MAX_SIZE)
    batch, c_in, height, width = x_shape
    c_out, c_in_group, kh, kw = weight_shape
    groups = _validate.integer(groups, "groups", at_most=MAX_SIZE)
    if c_in % groups:
        raise ValueError(f"channels not divisible by groups: x has C_in = {c_in} channels, "
                         f"which groups = {groups} cannot split evenly")
    if c_out % groups:
        raise ValueError(f"channels not divisible by groups: weight has C_out = {c_out} "
                         f"filters, which groups = {groups} cannot split evenly")
    if c_in // groups != c_in_group:
        raise ValueError(f"x has C_in = {c_in} channels, so with groups = {groups} each filter "
                         f"needs {c_in // groups} input channels, but weight has shape "
                         f"{weight_shape} ({c_in_group} per filter)")
    _validate.choice(padding_mode, "padding_mode", _PADDING_MODES)
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)  # dilated kernel
    if isinstance(padding, str):
        _validate.choice(padding, "padding", ("valid", "same"))
        if padding == "valid":
            pad = (0, 0, 0, 0)
        else:
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, got stride = {stride}; "
                                 f"pass an explicit padding instead")
            extra_h, extra_w = span[0] - 1, span[1] - 1  # PyTorch puts the odd one last
            pad = (extra_w // 2, extra_w - extra_w // 2, extra_h // 2, extra_h - extra_h // 2)
    else:
        ph, pw = _pair(padding, "padding", minimum=0)
        pad = (pw, pw, ph, ph)
    if padding_mode != "zeros":
        limit = {"circular": (height, width), "reflect": (height - 1, width - 1),
                 "replicate": (math.inf, math.inf)}[padding_mode]
        if max(pad[2:]) > limit[0] or max(pad[:2]) > limit[1]:
            raise ValueError(f"{padding_mode} padding of (top, bottom, left, right) = "
                             f"{(pad[2], pad[3], pad[0], pad[1])} is too wide for an input of "
                             f"H × W = {height} × {width}")
    padded = (height + pad[2] + pad[3], width + pad[0] + pad[1])
    for axis, name in ((0, "rows"), (1, "columns")):
        if span[axis] > padded[axis]:
            k, d = (kh, kw)[axis], dilation[axis]
            raise ValueError(
                f"kernel larger than the padded input: the kernel spans {span[axis]} {name} "
                f"(size {k}, dilation {d}) but the padded input has {padded[axis]} {name} "
                f"({(height, width)[axis]} + padding {pad[2 - 2 * axis]} + "
                f"{pad[3 - 2 * axis]}); use a smaller kernel or dilation, or pad more")
    out = ((padded[0] - span[0]) // stride[0] + 1, (padded[1] - span[1]) // stride[1] + 1)
    return ConvGeometry(batch=batch, c_in=c_in, c_out=c_out, groups=groups,
                        size=(height, width), kernel=(kh, kw), stride=stride,
                        dilation=dilation, pad=pad, padding_mode=padding_mode, out=out)


def _conv_inputs(x: object, weight: object, bias: object) -> tuple[
        torch.Tensor, torch.Tensor, torch.Tensor | None, bool]:
    x = _validate.tensor(x, "x")
    weight = _validate.tensor(weight, "weight")
    _validate.same_kind(x, weight, "x, weight")
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (B, C_in, H, W) or (C_in, H, W), got "
                         f"{tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"x has shape {tuple(x.shape)}: an empty dimension; pass at least "
                         f"one image with one channel and one pixel")
    if weight.ndim != 4 or weight.numel() == 0:
        raise ValueError(f"weight must have shape (C_out, C_in/groups, kH, kW) with no empty "
                         f"dimension, got {tuple(weight.shape)}")
    unbatched = x.ndim == 3
    if bias is not None:
        bias = _validate.tensor(bias, "bias")
        _validate.same_kind(weight, bias, "weight, bias")
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"bias must have shape (C_out,) = ({weight.shape[0]},), one per "
                             f"filter, got {tuple(bias.shape)}")
    return (x.unsqueeze(0) if unbatched else x), weight, bias, unbatched


def _padded(x: torch.Tensor, geo: ConvGeometry) -> torch.Tensor:
    if not any(geo.pad):
        return x
    mode = "constant" if geo.padding_mode == "zeros" else geo.padding_mode
    return F.pad(x, geo.pad, mode=mode)  # (B, C_in, H + top + bottom, W + left + right)


def conv2d_loop(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                dilation: int | tuple[int, int] = 1, groups: int = 1,
                padding_mode: str = "zeros") -> torch.Tensor:
    r"""A 2-D convolution, one dot product per output pixel (Python loops; small inputs only).

    .. math::  y_{b,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\;
               \tilde x_{b,\;g(o)\cdot C_{in}/G + c,\; s_H i + d_H u,\; s_W j + d_W v}

    where :math:`\tilde x` is the padded input and :math:`g(o) = \lfloor o / (C_{out}/G)\rfloor`
    the group of filter :math:`o` (filters of group :math:`g` read only input channels
    :math:`g\,C_{in}/G, \dots, (g+1)\,C_{in}/G - 1`). In words: cut out the
    receptive field of output pixel :math:`(i, j)`, flatten it, and take its dot
    product with the flattened filter. Like ``F.conv2d`` this is a
    cross-correlation (the kernel is not flipped), which is what deep learning
    calls convolution.

    Args:
        x: the input.
        weight: the filters.
        bias: one number per filter (optional).
        stride, padding, dilation: ints or (height, width) pairs; ``padding``
            may also be ``"valid"`` or ``"same"`` (stride 1).
        groups: split the channels into this many independent groups.
        padding_mode: ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``
            (as ``nn.Conv2d``).

    Shape:
        - x: :math:`(B, C_{in}, H, W)` or :math:`(C_{in}, H, W)`
        - weight: :math:`(C_{out}, C_{in}/\text{groups}, k_H, k_W)`
        - bias: :math:`(C_{out})`
        - output: :math:`(B, C_{out}, H_{out}, W_{out})` (or without :math:`B`), see
          :class:`ConvGeometry`.

    Examples::

        >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
        >>> conv2d_loop(x, torch.ones(1, 1, 2, 2), stride=2)
        tensor([[[[10., 18.],
                  [42., 50.]]]])
    """
    x4, weight, bias, unbatched = _conv_inputs(x, weight, bias)
    geo = conv_geometry(x4.shape, weight.shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    _validate.integer(geo.batch * geo.c_out * geo.out[0] * geo.out[1], "B·C_out·H_out·W_out",
                      at_most=MAX_LOOP, why="conv2d_loop takes one Python step per output "
                      "number; use conv2d for large inputs")
    xp = _padded(x4, geo)
    (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.stride, geo.dilation
    per_group_in, per_group_out = geo.c_in // geo.groups, geo.c_out // geo.groups
    y = torch.empty(geo.batch, geo.c_out, *geo.out, dtype=x4.dtype, device=x4.device)
    for b in range(geo.batch):
        for o in range(geo.c_out):
            first = (o // per_group_out) * per_group_in  # first input channel of o's group
            w_flat = weight[o].reshape(-1)  # (C_in/G · kH · kW,)
            for i in range(geo.out[0]):
                for j in range(geo.out[1]):
                    field = xp[b, first:first + per_group_in,
                               i * sh:i * sh + dh * (kh - 1) + 1:dh,
                               j * sw:j * sw + dw * (kw - 1) + 1:dw]  # (C_in/G, kH, kW)
                    y[b, o, i, j] = torch.dot(w_flat, field.reshape(-1))
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y[0] if unbatched else y


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1,
           padding_mode: str = "zeros") -> torch.Tensor:
    r"""A 2-D convolution as im2col plus one (grouped) matrix product.

    ``F.unfold`` copies every receptive field into a column, giving a matrix
    :math:`X_{col}` of shape :math:`(C_{in}k_Hk_W,\;L)` per image with
    :math:`L = H_{out}W_{out}`. With the filters flattened into the rows of
    :math:`W_{row}` (:math:`C_{out} \times C_{in}k_Hk_W`), all the dot
    products of :func:`conv2d_loop` become one matrix product,

    .. math::  Y = W_{row}\,X_{col} + b\,\mathbf 1^\top ,

    done per group when ``groups > 1``. This lowering ("unrolling") to a
    matrix product, computed by BLAS, is due to Chellapilla et al. (2006); its
    price is memory, each input pixel copied into up to :math:`k_Hk_W` columns.

    Args, Shape: as :func:`conv2d_loop`.

    Examples::

        >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
        >>> conv2d(x, torch.ones(1, 1, 2, 2), stride=2)
        tensor([[[[10., 18.],
                  [42., 50.]]]])
    """
    x4, weight, bias, unbatched = _conv_inputs(x, weight, bias)
    geo = conv_geometry(x4.shape, weight.shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    _validate.integer(geo.batch * geo.c_in * geo.kernel[0] * geo.kernel[1]
                      * geo.out[0] * geo.out[1], "the im2col matrix's size (B·C_in·kH·kW·"
                      "H_out·W_out)", at_most=MAX_COLUMNS,
                      why="im2col copies every receptive field; use a smaller batch or image")
    xp = _padded(x4, geo)
    cols = F.unfold(xp, kernel_size=geo.kernel, dilation=geo.dilation,
                    stride=geo.stride)  # (B, C_in·kH·kW, L)
    length = cols.shape[-1]
    cols = cols.reshape(geo.batch, geo.groups, geo.dot_length, length)  # (B, G, C_in/G·kH·kW, L)
    rows = weight.reshape(geo.groups, geo.c_out // geo.groups,
                          geo.dot_length)  # (G, C_out/G, C_in/G·kH·kW)
    y = rows @ cols  # (B, G, C_out/G, L): every entry one dot product
    y = y.reshape(geo.batch, geo.c_out, *geo.out)  # (B, C_out, H_out, W_out)
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y[0] if unbatched else y


def receptive_field(i: int, j: int, geo: ConvGeometry) -> tuple[range, range]:
    r"""The rows and columns of the *padded* input that output pixel :math:`(i, j)` reads.

    Rows :math:`s_H i + d_H u` for :math:`u = 0 … k_H - 1`, likewise for columns.
    Subtract the top/left padding to get input coordinates (negative ones fall
    in the padding).

    Examples::

        >>> geo = conv_geometry((1, 1, 6, 6), (1, 1, 3, 3), stride=2, padding=1)
        >>> rows, cols = receptive_field(1, 2, geo)
        >>> list(rows), list(cols)
        ([2, 3, 4], [4, 5, 6])
    """
    if not isinstance(geo, ConvGeometry):
        raise TypeError(f"geo must be a ConvGeometry (from conv_geometry(...)), got "
                        f"{type(geo).__name__}")
    for value, name, limit in ((i, "i", geo.out[0]), (j, "j", geo.out[1])):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
            raise ValueError(f"{name} must be an int in [0, {limit - 1}] (the output has "
                             f"{geo.out[0]} × {geo.out[1]} pixels), got {value!r}")
    (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.stride, geo.dilation
    rows = range(i * sh, i * sh + dh * (kh - 1) + 1, dh)
    cols = range(j * sw, j * sw + dw * (kw - 1) + 1, dw)
    return rows, cols


def edge_kernel(angle_deg: float, size: int = 5, sigma: float = 1.0, *,
                device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""An oriented edge detector: the derivative of a Gaussian along direction :math:`\theta`.

    .. math::  k_\theta(u, v) \propto \frac{u\cos\theta + v\sin\theta}{\sigma^2}\,
               e^{-(u^2 + v^2)/(2\sigma^2)}

    on the grid :math:`u, v \in \{-(\text{size}-1)/2, …, (\text{size}-1)/2\}`
    (:math:`u` to the right, :math:`v` downwards), scaled so that
    :math:`\sum|k| = 2`. This is the derivative of the Gaussian along
    :math:`\theta`, flipped (the derivative is odd, so flipping only changes
    its sign): ``F.conv2d`` does not flip, so cross-correlating with
    :math:`k_\theta` differentiates a blurred image along :math:`\theta`, and
    the dot product with a patch is large where brightness *rises* along
    :math:`\theta`. It sums to zero (flat regions give 0), and
    :math:`k_\theta \propto \cos\theta\,k_0 + \sin\theta\,k_{90}` with a
    positive factor that depends on :math:`\theta` through the
    :math:`\sum|k| = 2` scaling: any direction is a mix of two (steerable
    filters, Freeman & Adelson 1991).

    Args:
        angle_deg: the direction :math:`\theta` in degrees (0: brighter to the right,
            90: brighter downwards).
        size: the kernel's side, odd, 3 … 99.
        sigma: the Gaussian's width :math:`\sigma` in pixels.
        device, dtype: where and how the kernel is stored (a floating dtype).

    Shape:
        - output: :math:`(\text{size}, \text{size})`

    Examples::

        >>> k = edge_kernel(0.0, size=3, dtype=torch.float64)
        >>> abs(float(k.sum())) < 1e-12, bool((k[:, 2] > 0).all())
        (True, True)
    """
    dev, dtype = placement(device, dtype, None)
    size = _validate.integer(size, "size", at_most=MAX_KERNEL)
    if size % 2 == 0 or size < 3:
        raise ValueError(f"size must be odd and >= 3 (the kernel needs a centre), got {size}")
    sigma = _validate.in_range(sigma, "sigma", 1e-3, 1e3)
    theta = math.radians(_validate.in_range(angle_deg, "angle_deg", -360.0, 360.0))
    half = (size - 1) / 2
    grid = torch.linspace(-half, half, size, dtype=torch.float64)  # (size,)
    v, u = torch.meshgrid(grid, grid, indexing="ij")  # rows go down (v), columns right (u)
    along = u * math.cos(theta) + v * math.sin(theta)
    k = along / sigma**2 * torch.exp(-(u**2 + v**2) / (2 * sigma**2))  # rises along θ
    k = 2 * k / k.abs().sum()
    return k.to(device=dev, dtype=dtype)


def translate(x: torch.Tensor, dy: int = 0, dx: int = 0, *, mode: str = "circular"
              ) -> torch.Tensor:
    r"""Shift the last two axes of ``x`` by ``dy`` rows (down) and ``dx`` columns (right).

    ``mode="circular"`` wraps what leaves one edge in at the other
    (``torch.roll``); ``mode="zeros"`` fills the vacated pixels with 0, as a
    camera that pans over a black scene would.

    Shape:
        - x: :math:`(*, H, W)`, output: same

    Examples::

        >>> x = torch.tensor([[1., 2., 3.]])
        >>> translate(x, dx=1), translate(x, dx=1, mode="zeros")
        (tensor([[3., 1., 2.]]), tensor([[0., 1., 2.]]))
    """
    x = _validate.tensor(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (*, H, W), got {tuple(x.shape)}")
    _validate.choice(mode, "mode", ("circular", "zeros"))
    for value, name in ((dy, "dy"), (dx, "dx")):
        _validate.integer(value, name, at_least=-MAX_SIZE, at_most=MAX_SIZE)
    shifted = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    if mode == "zeros":
        height, width = x.shape[-2:]
        rows = torch.arange(height, device=x.device) - dy  # source row of each row
        cols = torch.arange(width, device=x.device) - dx
        keep = ((rows >= 0) & (rows < height))[:, None] & ((cols >= 0) & (cols < width))[None, :]
        shifted = shifted * keep.to(x.dtype)  # (*, H, W)
    return shifted


@dataclass(frozen=True)
class LayerCost:
    """Size and work of one layer on one input: parameters and dot products."""

    name: str
    parameters: int  #: weights + biases
    dot_products: int  #: one per output number
    dot_length: int  #: terms in each dot product
    outputs: tuple[int, ...]  #: (C_out, H_out, W_out)

    @property
    def multiply_adds(self) -> int:
        """Multiply–add operations: ``dot_products × dot_length``."""
        return self.dot_products * self.dot_length


def conv_vs_dense(c_in: int, height: int, width: int, c_out: int, kernel: int | tuple[int, int],
                  *, stride: int | tuple[int, int] = 1,
                  padding: int | tuple[int, int] | str = 0, groups: int = 1
                  ) -> tuple[LayerCost, LayerCost]:
    r"""A conv layer and the fully-connected layer with the same input and output sizes.

    The conv layer has :math:`C_{out}\,(C_{in}/G)\,k_Hk_W + C_{out}` parameters,
    whatever the image size: every output pixel reuses the same filters
    (parameter sharing). The dense layer maps the :math:`C_{in}HW` inputs to
    the :math:`C_{out}H_{out}W_{out}` outputs with one weight per pair. Both
    compute one dot product per output number; the conv's are short
    (:math:`(C_{in}/G)\,k_Hk_W` terms), the dense layer's span the whole input.

    Returns:
        ``(conv, dense)``, two :class:`LayerCost`.

    Examples::

        >>> conv, dense = conv_vs_dense(3, 32, 32, 16, 3, padding=1)
        >>> conv.parameters, dense.parameters
        (448, 50348032)
    """
    for value, name in ((c_in, "c_in"), (height, "height"), (width, "width"), (c_out, "c_out"),
                        (groups, "groups")):
        _validate.integer(value, name, at_most=MAX_SIZE)
    geo = conv_geometry((1, c_in, height, width),
                        (c_out, max(c_in // groups, 1), *_pair(kernel, "kernel", minimum=1)),
                        stride=stride, padding=padding, groups=groups)
    outputs = (geo.c_out, *geo.out)
    n_out = math.prod(outputs)
    n_in = c_in * height * width
    conv = LayerCost("convolution", parameters=geo.c_out * geo.dot_length + geo.c_out,
                     dot_products=n_out, dot_length=geo.dot_length, outputs=outputs)
    dense = LayerCost("fully connected", parameters=n_in * n_out + n_out, dot_products=n_out,
                      dot_length=n_in, outputs=outputs)
    return conv, dense
