"""Every model of the zoo: forward and backward at each input size, options, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hfc_fast.models import MODELS, build_model

SIZES = [(1, 28), (3, 32)]
BIG = {"paper_resnet", "resnet18", "alexnet", "vgg11", "vgg16", "mlp", "vit_tiny", "lenet", "small_cnn",
       "local_cnn", "linear_conv", "linear_fc"}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels, size", SIZES)
def test_forward_backward(name, channels, size):
    model = build_model(name, in_channels=channels, num_classes=7, image_size=size)
    x = torch.rand(3, channels, size, size, requires_grad=True)
    out = model(x)
    assert out.shape == (3, 7) and torch.isfinite(out).all()
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BIG))
def test_imagenet_size(name):
    model = build_model(name, in_channels=3, num_classes=5, image_size=224).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 224, 224)).shape == (1, 5)


def test_batchnorm_switch_and_defaults():
    has_bn = lambda m: any(isinstance(x, nn.BatchNorm2d) for x in m.modules())  # noqa: E731
    assert not has_bn(build_model("paper_resnet"))  # the authors' code switched it off
    assert has_bn(build_model("paper_resnet", batchnorm=True))
    assert has_bn(build_model("resnet18")) and not has_bn(build_model("resnet18", batchnorm=False))
    assert has_bn(build_model("vgg11", batchnorm=True))


def test_dropout_on_fully_connected_layers():
    model = build_model("lenet", in_channels=1, image_size=28, dropout=0.5)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops and all(d.p == 0.5 for d in drops)
    assert not any(isinstance(m, nn.Dropout) for m in build_model("lenet").modules())


def test_paper_resnet_shape():
    model = build_model("paper_resnet")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 1 + 2 * 5 * 3  # first conv + 5 blocks of two convs in 3 stages
    assert {c.out_channels for c in convs} == {16, 32, 64}


def test_xavier_initialisation():
    torch.manual_seed(0)
    layer = build_model("mlp", in_channels=1, image_size=28).net[1]
    bound = (6 / (layer.in_features + layer.out_features)) ** 0.5
    peak = float(layer.weight.detach().abs().max())
    assert 0.9 * bound < peak <= bound
    assert float(layer.bias.abs().max()) == 0


def test_local_cnn_kernel_sizes():
    for k in (3, 11, 28):
        model = build_model("local_cnn", in_channels=1, image_size=28, kernel_size=k)
        assert model.conv1.kernel_size == (k, k)
        assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="kernel_size"):
        build_model("local_cnn", in_channels=1, image_size=28, kernel_size=29)


def test_linear_conv_is_a_circular_convolution_and_linear():
    model = build_model("linear_conv", in_channels=2, image_size=6, num_classes=3).double()
    x = torch.rand(4, 2, 6, 6, dtype=torch.float64)
    # direct circular cross-correlation, written out
    w = model.conv.weight[0]
    direct = torch.zeros(4, 6, 6, dtype=torch.float64)
    for i in range(6):
        for j in range(6):
            shifted = torch.roll(x, shifts=(-i, -j), dims=(2, 3))
            direct[:, i, j] = (shifted * w).sum(dim=(1, 2, 3))
    torch.testing.assert_close(model(x), model.readout(direct.flatten(1)))
    beta = model.effective_predictor()
    torch.testing.assert_close(model(x), torch.einsum("kchw,bchw->bk", beta, x))


def test_build_model_errors():
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("resnet152")
    with pytest.raises(ValueError, match="dropout"):
        build_model("lenet", dropout=1.5)
    with pytest.raises(ValueError, match="init"):
        build_model("lenet", init="he")


def test_models_learn_a_separable_problem():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    y = (x[:, 0, :14].mean((1, 2)) > x[:, 0, 14:].mean((1, 2))).long()
    model = build_model("small_cnn", in_channels=1, image_size=28, num_classes=2)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.3
