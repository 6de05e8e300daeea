"""The notebooks here are fragments of chapters (cells without the setup cell), waiting to
be spliced into their chapters; they cannot run alone, so pytest/nbval skip them.

- ``08-backward.ipynb``: Chapter 8, before "## Exercises" (after "Alignment sets the speed").
- ``12-sae.ipynb``: Chapter 12; the cells from "## Compared with what?" up to "## Sparse
  autoencoders" go before "## Attention weights are not importance"; the rest before
  "## Exercises". (All of it before "## Exercises" also runs.)
"""

collect_ignore_glob = ["*.ipynb"]
