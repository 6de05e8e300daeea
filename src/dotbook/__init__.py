"""dotbook: the PyTorch code behind *The Dot Product in Neural Networks*.

Every chapter of the book imports from this one package; nothing reusable
lives in a notebook. One module per concept:

============== ================================================================ =====
module         concept                                                          ch.
============== ================================================================ =====
device         best device for a dtype (cuda → mps → cpu), placement, seeding,   all
               the one timer, dtype names, boundary checks
geometry       dot, norm, cosine, angle, projection; plain-loop references      1, 3
highdim        random directions, cosine samples, the exact cosine density      2
linearity      superposition, bilinearity, gradients of w·x; the activations    3
compute        counting work (FLOPs, bytes), the loop → numpy → torch routes    4
measure        the timing harness (ladders, tables) and attention's memory      4, 7
roofline       ceilings, the roofline, stored references, theoretical peaks     4
layers         a layer as m dot products, Jacobians, stacks and their collapse; 5
               templates (softmax regression, preferred input)
conv           conv2d as a loop and as im2col, geometry, receptive fields       6
filters        edge responses, equivariance under shifts, pooling               6
attention      softmax(QKᵀ/√d_k + M)V from dot products, masks, online softmax  7
saturation     why 1/√d_k: score variance and softmax saturation                7
training       ∂L/∂w = (∂L/∂z)·x, a layer's Σ δᵢxᵢᵀ, the neuron loop, ``fit``    8–13
alignment      where gradient descent takes the weights: span, max margin       8
backprop       the backward dot products: ∂L/∂x = GW, softmax, attention; checks  8
initialization standard/Xavier/He scales, Var(w·x), statistics through depth    9
depth_modern   residual branches, pre-LN, orthogonal weights, update ratios     9
precision      formats, stable softmax/logsumexp, rounded dot products          10
stability      norms, clipping, deep MLPs that explode                          10
mixed_precision loss scaling, cancellation, FP8 and TF32, master weights         10
depth_width    XOR against one neuron, small MLPs, depth vs width at equal P    11
interpret      contributions, gradient × input, integrated gradients,           12
               attention vs gradients, superposition and interference
sae            sparse autoencoders; saliency's reference point, Shapley values  12
transformer    multi-head attention, rotary positions, the KV cache             13
induction      a small attention-only model that learns induction               13
data           scikit-learn's bundled digits and photos (no download), toys     5–12
explore        one function, two faces: static slider figure and live widgets   all
colab          the Colab face: the static figure plus a kernel callback         all
plots          one plotly look for the whole book                               all
notebook       the chapter setup cell, glue, exercise self-checks               all
exercises      one record per exercise, shared by answer boxes and self-checks  all
============== ================================================================ =====

``figures.chNN`` draw Chapter NN's figures from what these modules compute.
``ARCHITECTURE.md`` at the repository root is the map of the house.

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
