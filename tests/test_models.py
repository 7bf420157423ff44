"""The networks: the seed's architecture exactly, logits out, lookup by name."""

import pytest
import torch

from fmnist.models import MODELS, build_model, count_parameters, first_filters


def test_lenet_is_the_seed_network():
    model = build_model("lenet")
    assert count_parameters(model) == 61_706
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 6, (5, 5), (2, 2)), (6, 16, (5, 5), (0, 0))]
    assert [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)] == [120, 84, 10]
    assert not any(isinstance(m, torch.nn.Softmax) for m in model.modules())


@pytest.mark.parametrize("name,shape", [("lenet", (6, 5, 5)), ("cnn", (24, 3, 3))])
def test_first_filters_are_the_first_conv_layers_kernels(name, shape):
    model = build_model(name, seed=0).to(memory_format=torch.channels_last)  # as training holds it
    kernels = first_filters(model)
    assert kernels.shape == shape
    assert (kernels == model.features[0].weight.detach()[:, 0].numpy()).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_return_logits(name):
    out = build_model(name, seed=0).eval()(torch.randn(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert not torch.allclose(out.sum(1), torch.ones(5))  # logits, not probabilities


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = build_model("lenet", seed=7), build_model("lenet", seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = build_model("lenet", seed=8)
    assert not torch.equal(a.state_dict()["features.0.weight"], c.state_dict()["features.0.weight"])


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*lenet"):
        build_model("resnet")


def test_cnn_averages_each_image_with_its_mirror_image_in_eval_mode():
    model = build_model("cnn", seed=0).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        out, mirrored = model(x), model(x.flip(-1))
        assert torch.allclose(out, mirrored, atol=1e-5)  # a mirrored garment is the same garment
        model.train()
        torch.manual_seed(0)
        single = model.classifier(model.features(x))
        torch.manual_seed(0)
        assert torch.equal(model(x), single)  # training sees the image as given


@pytest.mark.parametrize("width,params", [(24, 339_266), (48, 749_690)])
def test_cnn_width_sets_both_conv_pairs_and_is_kept_for_rebuilding(width, params):
    from fmnist.models import model_options
    model = build_model("cnn", seed=0, width=width)
    assert [m.out_channels for m in model.features if isinstance(m, torch.nn.Conv2d)] == [width, width,
                                                                                           2 * width, 2 * width]
    assert count_parameters(model) == params
    assert model_options(model) == ({} if width == 24 else {"width": width})
    rebuilt = build_model("cnn", **model_options(model))
    rebuilt.load_state_dict(model.state_dict())  # same shapes


def test_a_third_stage_adds_a_conv_pair_at_four_times_the_width_and_is_kept_for_rebuilding():
    from fmnist.models import model_options
    model = build_model("cnn", seed=0, width=48, stages=3)
    assert [m.out_channels for m in model.features if isinstance(m, torch.nn.Conv2d)] == [48, 48, 96, 96, 192, 192]
    assert count_parameters(model) == 867_194
    assert model_options(model) == {"width": 48, "stages": 3}
    assert model_options(build_model("cnn", stages=3)) == {"stages": 3}
    x = torch.rand(3, 1, 28, 28)
    assert model.features(x).shape == (3, 192, 3, 3)  # 28 -> 14 -> 7 -> 3
    rebuilt = build_model("cnn", **model_options(model))
    rebuilt.load_state_dict(model.state_dict())  # same shapes
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), model.eval()(x))
    with pytest.raises(RuntimeError):  # a two-stage net cannot take its weights
        build_model("cnn", width=48).load_state_dict(model.state_dict())


@pytest.mark.parametrize("name,options,message", [
    ("lenet", {"width": 8}, "lenet takes no options"), ("cnn", {"depth": 3}, "cnn takes only stages, width"),
    ("cnn", {"width": 0}, "width must be a whole number between 1 and 128"), ("cnn", {"width": "48"}, "got '48'"),
    ("cnn", {"stages": 4}, "stages must be 2 or 3, got 4"), ("cnn", {"stages": True}, "stages must be 2 or 3"),
    ("lenet", {"stages": 3}, "lenet takes no options")])
def test_impossible_model_options_are_named(name, options, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, **options)
