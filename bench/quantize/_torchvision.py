"""Imports torchvision on a torch whose build lacks torchvision's C++ operators.

torchvision 0.28 registers fake kernels for its C++ ops (nms, roi_align, ...) at import time; with a torch
build that does not have those ops (as in /opt/pyq here) the import fails. The models used by the bench
need none of them, so registration errors are ignored while torchvision is imported.
"""
import torch
import torch.library

_orig_register_fake = torch.library.register_fake


def _tolerant_register_fake(name, *args, **kwargs):
    def decorate(fn):
        try:
            return _orig_register_fake(name, *args, **kwargs)(fn)
        except RuntimeError:
            return fn

    return decorate


torch.library.register_fake = _tolerant_register_fake
import torchvision  # noqa: E402,F401
from torchvision import models  # noqa: E402,F401

torch.library.register_fake = _orig_register_fake
