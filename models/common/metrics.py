"""Quality metrics on images in [0, 1], shape [N, 3, H, W].

PSNR: per image, 10 log10(1 / MSE) over all pixels and channels; averages are over images (the
convention of the Deep JSCC papers). SSIM: Wang et al. 2004, 11x11 Gaussian window (sigma 1.5), valid
region, C1 = 0.01^2, C2 = 0.03^2, per channel, averaged over channels and positions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as Fn


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1 / mse)


_WIN = {}


def _window(device, size=11, sigma=1.5):
    key = (str(device), size, sigma)
    if key not in _WIN:
        g = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
        g = torch.exp(-g * g / (2 * sigma * sigma))
        g = g / g.sum()
        _WIN[key] = (g[:, None] * g[None, :]).expand(3, 1, size, size).contiguous()
    return _WIN[key]


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = x.float(), y.float()
    w = _window(x.device)
    mu_x, mu_y = Fn.conv2d(x, w, groups=3), Fn.conv2d(y, w, groups=3)
    sxx = Fn.conv2d(x * x, w, groups=3) - mu_x ** 2
    syy = Fn.conv2d(y * y, w, groups=3) - mu_y ** 2
    sxy = Fn.conv2d(x * y, w, groups=3) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(1)
