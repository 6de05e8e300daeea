"""Chapter 6: convolution as sliding dot products (dotbook.conv, figures.ch06).

conv2d_loop (one dot product per output pixel) and conv2d (im2col + one
matmul) are compared with ``F.conv2d`` at float64 over random configurations:
stride, padding (ints, pairs, "valid", "same", four padding modes), dilation,
groups, channels, batches, non-square kernels, unbatched inputs.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dotbook import conv

F64 = torch.float64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
close = torch.testing.assert_close


def reference(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
              padding_mode="zeros"):
    """What ``nn.Conv2d`` does: pad by F.pad for non-zero modes, then F.conv2d."""
    if padding_mode == "zeros":
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = F.pad(x, (pw, pw, ph, ph), mode=padding_mode)
    return F.conv2d(xp, weight, bias, stride, 0, dilation, groups)


@st.composite
def configs(draw, max_size: int = 7, modes: bool = True):
    """A random valid configuration and float64 tensors for it."""
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["zeros", "circular", "reflect", "replicate"])) if modes \
        else "zeros"
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    h = draw(st.integers(max(1, span_h - 2 * ph, ph + 1), max_size))
    w = draw(st.integers(max(1, span_w - 2 * pw, pw + 1), max_size))
    batch = draw(st.integers(1, 2))
    as_pairs = draw(st.booleans())
    stride = (sh, sw) if as_pairs or sh != sw else sh
    dilation = (dh, dw) if as_pairs or dh != dw else dh
    padding = (ph, pw) if as_pairs or ph != pw else ph
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c_in, h, w, generator=g, dtype=F64)
    weight = torch.randn(c_out, c_in // groups, kh, kw, generator=g, dtype=F64)
    bias = torch.randn(c_out, generator=g, dtype=F64) if draw(st.booleans()) else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode)
    return x, weight, bias, kwargs


@settings(max_examples=150)
@given(configs(max_size=9))
def test_im2col_conv2d_equals_F_conv2d(cfg):
    x, weight, bias, kw = cfg
    close(conv.conv2d(x, weight, bias, **kw), reference(x, weight, bias, **kw),
          rtol=1e-12, atol=1e-12)


@settings(max_examples=60)
@given(configs(max_size=6))
def test_loop_conv2d_equals_F_conv2d(cfg):
    x, weight, bias, kw = cfg
    close(conv.conv2d_loop(x, weight, bias, **kw), reference(x, weight, bias, **kw),
          rtol=1e-12, atol=1e-12)


@settings(max_examples=40)
@given(configs(max_size=6, modes=False))
def test_output_size_matches_torch_and_unbatched_input(cfg):
    x, weight, bias, kw = cfg
    geo = conv.conv_geometry(x.shape, weight.shape, **kw)
    expected = reference(x, weight, bias, **kw)
    assert (geo.batch, geo.c_out, *geo.out) == tuple(expected.shape)
    close(conv.conv2d(x[0], weight, bias, **kw), expected[0], rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 3)])
def test_string_padding_matches_torch(padding, kernel):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 7, 8, generator=g, dtype=F64)
    weight = torch.randn(6, 2, *kernel, generator=g, dtype=F64)
    expected = F.conv2d(x, weight, None, 1, padding, (1, 2), 2)
    for fn in (conv.conv2d, conv.conv2d_loop):
        close(fn(x, weight, padding=padding, dilation=(1, 2), groups=2), expected,
              rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_stays_on_device_and_keeps_dtype(device):
    x = torch.randn(1, 3, 10, 10, device=device)
    weight = torch.randn(4, 3, 3, 3, device=device)
    y = conv.conv2d(x, weight, stride=2, padding=1)
    assert y.device.type == device and y.dtype == torch.float32
    close(y, F.conv2d(x, weight, stride=2, padding=1), rtol=1e-4, atol=1e-4)


def test_conv2d_backpropagates_like_F_conv2d():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 2, 6, 5, generator=g, dtype=F64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 2, generator=g, dtype=F64, requires_grad=True)
    ours = torch.autograd.grad(conv.conv2d(x, weight, padding=1).square().sum(), (x, weight))
    theirs = torch.autograd.grad(F.conv2d(x, weight, padding=1).square().sum(), (x, weight))
    for a, b in zip(ours, theirs, strict=True):
        close(a, b, rtol=1e-12, atol=1e-12)


def test_each_output_pixel_is_the_dot_product_with_its_receptive_field():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 9, 9, generator=g, dtype=F64)
    weight = torch.randn(1, 2, 3, 3, generator=g, dtype=F64)
    kw = dict(stride=2, padding=1, dilation=2)
    geo = conv.conv_geometry(x.shape, weight.shape, **kw)
    y = conv.conv2d(x, weight, **kw)
    xp = F.pad(x, geo.pad)
    for i in range(geo.out[0]):
        for j in range(geo.out[1]):
            rows, cols = conv.receptive_field(i, j, geo)
            field = xp[0, :, list(rows)][:, :, list(cols)]  # (C_in, kH, kW)
            assert math.isclose(float(y[0, 0, i, j]), float(torch.dot(field.flatten(),
                                                                      weight.flatten())),
                                rel_tol=1e-12, abs_tol=1e-12)


# -------------------------------------------------------------- bad configurations
def test_clear_errors_name_the_numbers():
    x = torch.zeros(1, 6, 5, 5)
    with pytest.raises(ValueError, match=r"kernel larger than the padded input: the kernel "
                                         r"spans 7 rows \(size 4, dilation 2\) but the padded "
                                         r"input has 6 rows \(4 \+ padding 1 \+ 1\)"):
        conv.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 1), padding=(1, 0),
                      dilation=2)
    with pytest.raises(ValueError, match=r"kernel larger.*spans 6 columns.*has 5 columns"):
        conv.conv2d_loop(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 1, 6))
    with pytest.raises(ValueError, match=r"C_in = 6 channels, which groups = 4"):
        conv.conv2d(x, torch.zeros(4, 1, 3, 3), groups=4)
    with pytest.raises(ValueError, match=r"C_out = 3 filters, which groups = 2"):
        conv.conv2d(x, torch.zeros(3, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"needs 3 input channels.*\(2 per filter\)"):
        conv.conv2d(x, torch.zeros(4, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="same.*stride 1"):
        conv.conv2d(x, torch.zeros(2, 6, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="circular padding.*too wide"):
        conv.conv2d(x, torch.zeros(2, 6, 3, 3), padding=6, padding_mode="circular")
    with pytest.raises(ValueError, match="bias must have shape"):
        conv.conv2d(x, torch.zeros(2, 6, 3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"\(B, C_in, H, W\)"):
        conv.conv2d(torch.zeros(5, 5), torch.zeros(1, 1, 3, 3))
    with pytest.raises(TypeError, match="dtype mismatch"):
        conv.conv2d(x.double(), torch.zeros(2, 6, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv.conv2d(x, torch.zeros(2, 6, 3, 3), stride=0)
    with pytest.raises(ValueError, match="padding_mode"):
        conv.conv2d(x, torch.zeros(2, 6, 3, 3), padding_mode="mirror")
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        conv.receptive_field(3, 0, conv.conv_geometry(x.shape, (1, 6, 3, 3)))


# ------------------------------------------------ equivariance, kernels, counts
def test_translate_circular_and_zeros():
    x = torch.arange(12.0).reshape(3, 4)
    close(conv.translate(x, 1, -1), torch.roll(x, (1, -1), (0, 1)))
    z = conv.translate(x, 1, 2, mode="zeros")
    assert torch.equal(z[1:, 2:], x[:-1, :-2]) and z[0].abs().sum() == 0 and \
        z[:, :2].abs().sum() == 0
    close(conv.translate(conv.translate(x, 2, 3), -2, -3), x)
    with pytest.raises(TypeError, match="dx must be an int"):
        conv.translate(x, 0, 1.5)


def test_equivariance_exact_with_circular_padding_and_inside_with_zeros():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 1, 16, 16, generator=g, dtype=F64)
    k = torch.randn(1, 1, 3, 3, generator=g, dtype=F64)
    for dy, dx in [(0, 3), (2, -1), (-4, 5)]:
        conv_c = conv.conv2d(conv.translate(x, dy, dx), k, padding=1, padding_mode="circular")
        close(conv_c, conv.translate(conv.conv2d(x, k, padding=1, padding_mode="circular"),
                                       dy, dx), rtol=1e-12, atol=1e-12)
        conv_z = conv.conv2d(conv.translate(x, dy, dx, mode="zeros"), k, padding=1)
        ref_z = conv.translate(conv.conv2d(x, k, padding=1), dy, dx, mode="zeros")
        margin_y, margin_x = abs(dy) + 1, abs(dx) + 1  # shift + kernel radius
        inner = (slice(None), slice(None), slice(margin_y, 16 - margin_y),
                 slice(margin_x, 16 - margin_x))
        close(conv_z[inner], ref_z[inner], rtol=1e-12, atol=1e-12)
        assert (conv_z - ref_z).abs().max() > 1e-3  # but not at the border


def test_conv2d_is_cross_correlation_not_convolution():
    # an impulse comes back as the kernel rotated by 180°; flipping the kernel first gives
    # the convolution of signal processing, sum_uv W[u, v] x[i - u, j - v]
    g = torch.Generator().manual_seed(5)
    k = torch.randn(1, 1, 3, 2, generator=g, dtype=F64)
    impulse = torch.zeros(1, 1, 6, 6, dtype=F64)
    impulse[0, 0, 3, 2] = 1.0
    for fn in (conv.conv2d, conv.conv2d_loop, F.conv2d):
        y = fn(impulse, k, padding=(2, 1))
        close(y[0, 0, 3:6, 2:4], k[0, 0].flip(0, 1), rtol=0, atol=0)
    x = torch.randn(1, 1, 5, 6, generator=g, dtype=F64)
    full = torch.zeros(7, 7, dtype=F64)  # the 'full' convolution by its definition
    for i in range(7):
        for j in range(7):
            for u in range(3):
                for v in range(2):
                    if 0 <= i - u < 5 and 0 <= j - v < 6:
                        full[i, j] += k[0, 0, u, v] * x[0, 0, i - u, j - v]
    close(conv.conv2d(x, k.flip(2, 3), padding=(2, 1))[0, 0], full, rtol=1e-12, atol=1e-12)


def test_stride_keeps_equivariance_only_for_multiples_of_the_stride():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(1, 1, 12, 12, generator=g, dtype=F64)
    k = torch.randn(1, 1, 3, 3, generator=g, dtype=F64)

    def f(image):
        return conv.conv2d(image, k, stride=3, padding=1, padding_mode="circular")  # (.., 4, 4)

    for dy, dx in [(3, 0), (0, -6), (3, 9)]:
        close(f(conv.translate(x, dy, dx)), conv.translate(f(x), dy // 3, dx // 3),
              rtol=1e-12, atol=1e-12)
    y1 = f(conv.translate(x, 0, 1))
    assert min(float((y1 - conv.translate(f(x), a, b)).abs().max())
               for a in range(4) for b in range(4)) > 1e-3


def test_edge_kernel_is_steerable_and_sums_to_zero():
    k0 = conv.edge_kernel(0.0, 7, 1.5, dtype=F64)
    k90 = conv.edge_kernel(90.0, 7, 1.5, dtype=F64)
    for angle in (0.0, 30.0, 135.0, 250.0):
        k = conv.edge_kernel(angle, 7, 1.5, dtype=F64)
        assert abs(float(k.sum())) < 1e-12 and math.isclose(float(k.abs().sum()), 2.0)
        t = math.radians(angle)
        mix = math.cos(t) * k0 + math.sin(t) * k90
        close(k, 2 * mix / mix.abs().sum(), rtol=1e-12, atol=1e-12)
    # a step that rises to the right excites the 0° detector, not the 90° one
    step = torch.zeros(1, 1, 9, 9, dtype=F64)
    step[..., 5:] = 1.0
    assert float(conv.conv2d(step, k0[None, None])[0, 0, 1, 1]) > 0.3
    assert abs(float(conv.conv2d(step, k90[None, None])[0, 0, 1, 1])) < 1e-12
    with pytest.raises(ValueError, match="odd"):
        conv.edge_kernel(0.0, 4)


def test_conv_vs_dense_counts():
    shared, dense = conv.conv_vs_dense(3, 32, 32, 16, 3, padding=1)
    assert shared.parameters == 16 * 3 * 9 + 16 and shared.outputs == (16, 32, 32)
    assert dense.parameters == (3 * 32 * 32) * (16 * 32 * 32) + 16 * 32 * 32
    assert shared.dot_products == dense.dot_products == 16 * 32 * 32
    assert shared.dot_length == 27 and dense.dot_length == 3 * 32 * 32
    assert shared.multiply_adds == 16 * 32 * 32 * 27
    # the conv layer's parameter count does not depend on the image size
    big, _ = conv.conv_vs_dense(3, 224, 224, 16, 3, padding=1)
    assert big.parameters == shared.parameters
    grouped, _ = conv.conv_vs_dense(4, 8, 8, 6, (3, 1), groups=2, stride=2)
    assert grouped.parameters == 6 * 2 * 3 + 6 and grouped.outputs == (6, 3, 4)
    with pytest.raises(ValueError, match="c_in"):
        conv.conv_vs_dense(0, 8, 8, 2, 3)


# ------------------------------------------------- bad input: clear, early errors
def test_edge_kernel_refuses_a_non_floating_dtype():
    # issue 20: dtype=int64 used to return all zeros
    with pytest.raises(TypeError, match="floating-point"):
        conv.edge_kernel(30.0, dtype=torch.int64)
    with pytest.raises(ValueError, match="size"):
        conv.edge_kernel(0.0, size=10**12 + 1)


def test_every_size_has_an_upper_bound_checked_before_work():
    with pytest.raises(ValueError, match="x_shape's H"):
        conv.conv_geometry((1, 1, 10**12, 4), (1, 1, 3, 3))
    with pytest.raises(ValueError, match="weight_shape's kH"):
        conv.conv_geometry((1, 1, 4, 4), (1, 1, 10**9, 3))
    with pytest.raises(ValueError, match="stride"):
        conv.conv_geometry((1, 1, 4, 4), (1, 1, 3, 3), stride=10**12)
    with pytest.raises(ValueError, match="height"):
        conv.conv_vs_dense(3, 10**12, 8, 4, 3)
    with pytest.raises(ValueError, match="dx"):
        conv.translate(torch.zeros(3, 3), 0, 10**12)
    with pytest.raises(ValueError, match="conv2d_loop"):  # the loop twin: small inputs only
        conv.conv2d_loop(torch.zeros(1, 1, 2000, 2000), torch.zeros(1, 1, 1, 1))
    with pytest.raises(ValueError, match="im2col"):  # refused before unfold allocates
        conv.conv2d(torch.zeros(1, 1, 8, 8).expand(1, 1, 8, 8),
                    torch.zeros(1, 1, 3, 3), dilation=1, padding=60_000, padding_mode="zeros")
    with pytest.raises(TypeError, match="ConvGeometry"):
        conv.receptive_field(0, 0, (1, 1))
