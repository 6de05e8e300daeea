"""dotbook: the PyTorch code behind *The Dot Product in Neural Networks*.

Every chapter of the book imports from this one package; nothing reusable
lives in a notebook. One module per concept:

========== ===============================================================
module     concept
========== ===============================================================
device     best device for a dtype (cuda → mps → cpu), placement, seeding, timing
geometry   dot, norm, cosine, angle, projection; plain-loop references
highdim    random directions, cosine samples, the exact cosine density
linearity  superposition, bilinearity, gradients of w·x
compute    loop → numpy → torch → matmul ladder, FLOP/byte counts, ceilings, roofline
layers     a layer as m dot products, its Jacobians, stacks and their collapse;
           templates (softmax regression, preferred input); conv2d as loop and im2col
stability  formats (finfo), stable softmax/logsumexp, low-precision dot, norms, clipping
attention  softmax(QKᵀ/√d_k + M)V from dot products, masks, why √d_k, online softmax
training   ∂L/∂w = (∂L/∂z)·x for one neuron, a layer's Σ δᵢxᵢᵀ, a training loop, max margin
initialization  standard/Xavier/He scales, Var(w·x), variance through depth (hooks)
depth_width  XOR against one neuron (LP certificate), small MLPs, depth vs width at equal P
interpret  contributions wᵢxᵢ, gradient × input, integrated gradients, attention vs
           gradients, superposition and interference
data       scikit-learn's bundled digits and photos (no download), a toy 2-D set
explore    one function, two faces: static slider figure and live widgets
plots      one plotly look for the whole book
notebook   the chapter setup cell, glue, exercise self-checks
========== ===============================================================

Shape letters, used in every ``Shape:`` section and shape comment:

- ``n``   vector length (the dimension of a dot product)
- ``B``   batch size
- ``m``   number of vectors / neurons
- ``T``   sequence length; ``T_q`` and ``T_k`` when queries and keys differ
- ``h``   number of attention heads
- ``d_k`` query/key width; ``d_v`` value width
- ``C``, ``H``, ``W`` channels, height, width
- ``N``   number of examples in a data set (``N_train``, ``N_test``)
- ``P``   number of parameters of a network; ``S`` points on an integration path

``*`` in a shape means "any leading batch dimensions".

Naming rule for the twins every fast function is tested against:

- ``name_loop``: the reference as a plain Python loop, one scalar step at a
  time (``geometry.dot_loop``, ``layers.linear_loop``);
- ``name_naive``: the vectorised *definition*, slower than the fast route but
  obviously right (``highdim.cosine_samples_naive``);
- ``method=``: when several routes are equally valid ways to the same number,
  one function takes ``method=`` instead of several names
  (``linearity.dot_gradients(..., method="autograd")``,
  ``layers.jacobian_x(..., method="formula")``).

Private helpers shared by modules: ``_validate`` (input checks), ``_build``
(book-build mode), ``_compat`` (torch quirks hidden from readers).
"""

from dotbook import device, geometry

__version__ = "0.1.0"
__all__ = ["device", "geometry", "__version__"]
