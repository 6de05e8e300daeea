"""A stand-in for Colab's ``google.colab`` package, for the tests only.

Put ``tests/fake_colab`` on ``sys.path`` (``PYTHONPATH``) and dotbook believes
it runs in Colab. Only what dotbook uses is here, shaped as Colab documents it:
``output.register_callback(name, fn)`` and ``output.enable_custom_widget_manager()``;
``kernel.invoke_function`` plays the part of the page's
``google.colab.kernel.invokeFunction(name, args, kwargs)``, which in Colab runs
the registered Python function in the kernel and hands its displayed result to
the page as ``result.data`` (a mime bundle).
"""

from google.colab import kernel, output  # noqa: F401
