"""Small real data that ships inside installed packages, and small synthetic sets.

Nothing here touches the network. The real data comes from files inside the
scikit-learn wheel:

- :func:`digits`: 1,797 handwritten digits, 8×8 pixels each, the test part of
  the UCI "optical recognition of handwritten digits" set (``load_digits``), split
  once, stratified and seeded, into a training and a test part;
- :func:`sample_image`: the two photographs scikit-learn bundles
  (``china.jpg``, ``flower.jpg``; 427×640 colour, decoded by Pillow),
  converted to grey and shrunk so that figures stay light.

:func:`two_blobs` makes a two-class cloud in the plane for toy problems.

Chapters 5, 6, 8, 9 and 12 use this module. Every function takes ``device``
and ``dtype`` and returns tensors there; what is random (the digits' split, the
blobs) is drawn from the ``generator`` the caller passes.
``device=None`` means the CPU, as for PyTorch's own factories; a chapter
passes ``book.device``.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dotbook import _validate
from dotbook.device import generator as seeded
from dotbook.device import placement

__all__ = ["Digits", "digits", "SAMPLE_IMAGES", "sample_image", "two_blobs"]

#: The photographs inside scikit-learn's wheel (``sklearn/datasets/images``).
SAMPLE_IMAGES: tuple[str, ...] = ("china.jpg", "flower.jpg")
#: ITU-R BT.601 luma weights: a grey value is the dot product of these with (R, G, B).
LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)
_DIGIT_MAX = 16.0  # load_digits pixels are counts of set pixels in 4×4 blocks: 0 … 16
#: The most points :func:`two_blobs` draws per class.
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class Digits:
    """The digits split into train and test parts, as tensors on one device.

    Each row of ``x_*`` is one 8×8 image read row by row (pixel ``(r, c)`` is
    column ``8r + c``). Its scale depends on how :func:`digits` was called:
    ``"unit"`` divides the raw intensities 0…16 by 16, so a pixel lies in
    ``[0, 1]`` and 0 is white paper; ``"standard"`` subtracts the training
    mean of each pixel and divides by its training standard deviation
    (pixels that never change in the training set are only centred).

    Shape:
        - ``x_train``: :math:`(N_{train}, 64)`, ``y_train``: :math:`(N_{train})` (int64)
        - ``x_test``: :math:`(N_{test}, 64)`, ``y_test``: :math:`(N_{test})` (int64)
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    scale: str
    image_shape: tuple[int, int] = (8, 8)
    classes: int = 10

    @property
    def n_features(self) -> int:
        """The input width n = 64."""
        return self.image_shape[0] * self.image_shape[1]

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """Rows of 64 numbers back to 8×8 pictures: ``(*, 64) -> (*, 8, 8)``.

        Examples::

            >>> d = digits()
            >>> d.images(d.x_test[:3]).shape
            torch.Size([3, 8, 8])
        """
        x = _validate.batched(x, "x")
        if x.shape[-1] != self.n_features:
            raise ValueError(f"x has shape {tuple(x.shape)}; its last dimension must be "
                             f"{self.n_features} (one flattened 8×8 image)")
        return x.reshape(*x.shape[:-1], *self.image_shape)  # (*, 8, 8)

    def __repr__(self) -> str:
        return (f"Digits(train={tuple(self.x_train.shape)}, test={tuple(self.x_test.shape)}, "
                f"scale={self.scale!r}, dtype={self.x_train.dtype}, "
                f"device={self.x_train.device})")


def _sklearn_file(*parts: str) -> Path | None:
    """A data file inside the installed scikit-learn, found without importing it
    (``import sklearn.datasets`` costs about a second; the files are all we need)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), "datasets", *parts)
    return path if path.is_file() else None


@functools.cache
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    path = _sklearn_file("data", "digits.csv.gz")
    if path is None:  # a future layout: ask scikit-learn itself
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")  # (1797, 65): 64 pixels, then the label
    return table[:, :-1].astype(np.float64), table[:, -1].astype(np.int64)


def _stratified_split(y: torch.Tensor, test_fraction: float, g: torch.Generator
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of a random split (drawn from ``g``) that keeps each class's share in both parts."""
    train, test = [], []
    for label in torch.unique(y).tolist():
        members = torch.nonzero(y == label).flatten()  # (count,)
        order = torch.randperm(members.numel(), generator=g, device=g.device).cpu()
        members = members[order]
        k = round(test_fraction * members.numel())
        test.append(members[:k])
        train.append(members[k:])
    return torch.sort(torch.cat(train)).values, torch.sort(torch.cat(test)).values


def digits(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32, *,
           test_fraction: float = 0.25, generator: torch.Generator | None = None,
           scale: str = "unit") -> Digits:
    r"""scikit-learn's 8×8 handwritten digits, split into train and test, as tensors.

    The split is stratified (each digit keeps its share, within one example,
    in both parts) and drawn from ``generator``. The default, ``None``, is the
    book's standard split, ``device.generator(0)`` on the CPU: the same split on
    every machine, the one every chapter trains on. With the defaults, 1,347
    images train and 450 test.

    Args:
        device: where the tensors live (``None``: the CPU).
        dtype: floating dtype of the inputs (labels are always int64).
        test_fraction: share of each class held out, in ``(0, 1)``.
        generator: a ``torch.Generator`` that draws the split (``None``: the standard split).
        scale: ``"unit"`` (pixels in :math:`[0, 1]`) or ``"standard"``
            (each pixel standardised with training statistics); see :class:`Digits`.

    Returns:
        a :class:`Digits`.

    Examples::

        >>> d = digits()
        >>> d.x_train.shape, d.x_test.shape, d.y_test.dtype
        (torch.Size([1347, 64]), torch.Size([450, 64]), torch.int64)
        >>> float(d.x_train.min()), float(d.x_train.max())
        (0.0, 1.0)
    """
    dev, dtype = placement(device, dtype, None)
    _validate.choice(scale, "scale", ("unit", "standard"))
    fraction = _validate.in_range(test_fraction, "test_fraction", 0.0, 1.0)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {fraction}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None (the standard split), "
                        f"got {type(generator).__name__}; pass book.generator(k)")
    raw_x, raw_y = _raw_digits()
    x = torch.tensor(raw_x)  # (1797, 64), 0 … 16
    y = torch.tensor(raw_y)  # (1797,)
    train, test = _stratified_split(y, fraction, seeded(0) if generator is None else generator)
    if train.numel() == 0 or test.numel() == 0:
        raise ValueError(f"test_fraction = {fraction} leaves one part empty; pass a value "
                         f"between 0.01 and 0.99")
    x_train, x_test = x[train], x[test]  # float64 on the CPU until the end
    if scale == "unit":
        x_train, x_test = x_train / _DIGIT_MAX, x_test / _DIGIT_MAX
    else:
        mean = x_train.mean(dim=0)  # (64,)
        std = x_train.std(dim=0)  # (64,)
        std = torch.where(std > 0, std, torch.ones_like(std))  # constant pixels: centre only
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return Digits(
        x_train=x_train.to(device=dev, dtype=dtype), y_train=y[train].to(dev),
        x_test=x_test.to(device=dev, dtype=dtype), y_test=y[test].to(dev), scale=scale,
    )


@functools.cache
def _raw_image(name: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as error:  # the JPEG needs a decoder; scikit-learn uses Pillow too
        raise ImportError("sample_image needs Pillow to decode scikit-learn's bundled JPEGs: "
                          "pip install pillow") from error
    path = _sklearn_file("images", name)
    if path is None:  # a future layout: ask scikit-learn itself
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))  # (427, 640, 3) uint8


def sample_image(name: str = "china.jpg", device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32, *, grayscale: bool = True,
                 size: int = 96) -> torch.Tensor:
    r"""A photograph bundled with scikit-learn, shrunk to ``size`` rows, values in [0, 1].

    Colour becomes grey through a dot product per pixel,
    :math:`\text{grey} = 0.299\,R + 0.587\,G + 0.114\,B` (ITU-R BT.601 luma).
    Shrinking averages blocks of pixels (``F.interpolate(mode="area")``),
    which keeps the picture free of aliasing; the width follows the aspect
    ratio 640/427.

    Args:
        name: ``"china.jpg"`` (a temple) or ``"flower.jpg"``.
        device, dtype: where and how the pixels are stored.
        grayscale: one grey channel, or the three colour channels.
        size: the number of rows, 8 … 427.

    Shape:
        - output: :math:`(H, W)` when ``grayscale``, else :math:`(3, H, W)`, with
          :math:`H =` ``size`` and :math:`W = \mathrm{round}(640\,H/427)`.

    Examples::

        >>> img = sample_image("flower.jpg", size=48)
        >>> img.shape, 0.0 <= float(img.min()) <= float(img.max()) <= 1.0
        (torch.Size([48, 72]), True)
    """
    dev, dtype = placement(device, dtype, None)
    _validate.choice(name, "name", SAMPLE_IMAGES)
    _validate.choice(grayscale, "grayscale", (True, False))
    size = _validate.integer(size, "size")  # bounded below by the photo's height
    raw = _raw_image(name)
    height, width = raw.shape[:2]
    if not 8 <= size <= height:
        raise ValueError(f"size must lie in [8, {height}] rows (the photo has {height}), "
                         f"got {size}")
    rgb = torch.tensor(raw, dtype=torch.float64).permute(2, 0, 1) / 255.0  # (3, 427, 640)
    if grayscale:
        luma = torch.tensor(LUMA, dtype=torch.float64)  # (3,)
        pixels = torch.einsum("c,chw->hw", luma, rgb).unsqueeze(0)  # (1, 427, 640)
    else:
        pixels = rgb  # (3, 427, 640)
    out_width = round(width * size / height)
    small = F.interpolate(pixels.unsqueeze(0), size=(size, out_width), mode="area")[0]  # (c, H, W)
    small = small.clamp(0.0, 1.0)
    if grayscale:
        small = small[0]  # (H, W)
    return small.to(device=dev, dtype=dtype)


def two_blobs(n_per_class: int = 50, *, separation: float = 3.0, angle_deg: float = 30.0,
              generator: torch.Generator | None = None, device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Two Gaussian clouds in the plane, labels 0 and 1, centres ``separation`` apart.

    The centres sit at :math:`\pm\tfrac{s}{2}u + c` with
    :math:`u = (\cos\alpha, \sin\alpha)` and a fixed offset :math:`c = (1, 0.5)`,
    so the perpendicular bisector of the centres, the best separating line,
    misses the origin (unless :math:`u \perp c`): a neuron needs its bias.
    Each point adds standard normal noise.

    Args:
        n_per_class: points per class.
        separation: distance :math:`s` between the centres.
        angle_deg: direction :math:`\alpha` from class 0 to class 1.
        generator: a seeded ``torch.Generator`` on ``device`` (``None``: the global one).
        device, dtype: where and how the points are stored (``device=None``: the
            generator's device, else the CPU).

    Shape:
        - outputs: :math:`(2N, 2)` points and :math:`(2N)` int64 labels, class 0 first.

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = two_blobs(10, generator=g, dtype=torch.float64)
        >>> x.shape, y.tolist()[:3], int(y.sum())
        (torch.Size([20, 2]), [0, 0, 0], 10)
    """
    dev, dtype = placement(device, dtype, generator)
    n = _validate.integer(n_per_class, "n_per_class", at_most=MAX_POINTS)
    s = _validate.in_range(separation, "separation", 0.0, 100.0)
    alpha = math.radians(_validate.in_range(angle_deg, "angle_deg", -360.0, 360.0))
    u = torch.tensor([math.cos(alpha), math.sin(alpha)], device=dev, dtype=dtype)  # (2,)
    offset = torch.tensor([1.0, 0.5], device=dev, dtype=dtype)  # (2,)
    noise = torch.randn(2 * n, 2, generator=generator, device=dev, dtype=dtype)  # (2N, 2)
    sign = torch.cat([-torch.ones(n, device=dev, dtype=dtype),
                      torch.ones(n, device=dev, dtype=dtype)])  # (2N,)
    x = offset + 0.5 * s * sign[:, None] * u + noise  # (2N, 2)
    y = torch.cat([torch.zeros(n, dtype=torch.int64, device=dev),
                   torch.ones(n, dtype=torch.int64, device=dev)])  # (2N,)
    return x, y
