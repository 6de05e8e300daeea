"""dotbook: the PyTorch code behind *The Dot Product in Neural Networks*.

Every chapter of the book imports from this one package; nothing reusable
lives in a notebook. One module per concept:

========== ===============================================================
module     concept
========== ===============================================================
device     best device (cuda → mps → cpu), seeding
geometry   dot, norm, cosine, angle, projection; plain-loop references
highdim    random directions, cosine samples, the exact cosine density
linearity  superposition, bilinearity, gradients and Jacobians of w·x
explore    one function, two faces: static slider figure and live widgets
plots      one plotly look for the whole book
notebook   the chapter setup cell, glue, exercise self-checks
========== ===============================================================

Shape letters, used in every ``Shape:`` section and shape comment:

- ``n``   vector length (the dimension of a dot product)
- ``B``   batch size
- ``m``   number of vectors / neurons
- ``T``   sequence length
- ``d_k`` query/key width
- ``C``, ``H``, ``W`` channels, height, width

``*`` in a shape means "any leading batch dimensions".
"""

from dotbook import device, geometry

__version__ = "0.1.0"
__all__ = ["device", "geometry", "__version__"]
