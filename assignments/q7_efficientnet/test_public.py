"""Public tests of question 7 (EfficientNet): the tables, the blocks on small cases, B0 against torchvision."""
import pytest
import torch

from ..checks import expect_error, expect_int, show_call
from .checks import (Weights, call_student, config_fields, expect_counts, expect_own_layers,
                                    nonzero_seeded, reference_counts, show_config, student_mbconv, torchvision_variant,
                                    weight_value)
from .strategies import SCALINGS, Block


def test_compound_scaling_gives_the_table_of_the_statement(student):
    for name, (width, depth, resolution, dropout) in SCALINGS.items():
        scaling = call_student(f"compound_scaling({name!r})", student.q7_efficientnet.compound_scaling, name)
        got = tuple(getattr(scaling, field) for field in ("width", "depth", "resolution", "dropout"))
        assert got == (width, depth, resolution, dropout), (
            f"compound_scaling({name!r}) gave (width, depth, resolution, dropout) = {got}, expected "
            f"{(width, depth, resolution, dropout)}")


def test_compound_scaling_rejects_an_unknown_variant(student):
    call = "compound_scaling('b8')"
    error = expect_error(ValueError, "there is no variant b8", call, student.q7_efficientnet.compound_scaling, "b8")
    missing = [name for name in SCALINGS if name not in error.message]
    assert not missing, f"{call} raised ValueError({error.message!r}); the message should list the valid names b0-b7"


MAKE_DIVISIBLE = [  # (arguments, expected)
    ((35.2,), 32),    # 32 is nearest, and 32 >= 0.9 * 35.2
    ((19.2,), 24),    # 16 is nearest, but 16 < 0.9 * 19.2 = 17.28
    ((9,), 16),       # 8 is nearest, but 8 < 0.9 * 9 = 8.1
    ((44,), 48),      # halfway between 40 and 48 rounds up
    ((52,), 56),      # halfway between 48 and 56 rounds up too
    ((3,), 8),        # never less than the divisor
    ((320,), 320),
    ((30, 4), 32),    # with divisor 4: halfway between 28 and 32
]


@pytest.mark.points(2)
def test_make_divisible_examples(student):
    for args, expected in MAKE_DIVISIBLE:
        call = show_call("make_divisible", *args)
        expect_int(call_student(call, student.q7_efficientnet.make_divisible, *args), expected, call)


SCALED_ROWS = [  # (row, variant, scaled row)
    (Block(6, 3, 2, 16, 24, 2), "b3", Block(6, 3, 2, 24, 32, 3)),   # 16 * 1.2 = 19.2 -> 24; ceil(2 * 1.4) = 3
    (Block(6, 5, 2, 24, 40, 2), "b1", Block(6, 5, 2, 24, 40, 3)),   # width 1.0; ceil(2 * 1.1) = 3
    (Block(6, 5, 1, 80, 112, 3), "b2", Block(6, 5, 1, 88, 120, 4)),  # 88 and 123.2 -> 120; ceil(3.6) = 4
]


@pytest.mark.points(2)
def test_scale_config_examples(student):
    q7 = student.q7_efficientnet
    for row, name, expected in SCALED_ROWS:
        call = f"scale_config({show_config(row.fields())}, Scaling{SCALINGS[name]})"
        scaled = call_student(call, q7.scale_config, q7.MBConvConfig(*row.fields()), q7.Scaling(*SCALINGS[name]))
        got = config_fields(scaled)
        assert got == expected.fields(), f"{call} gave {show_config(got)}, expected {show_config(expected.fields())}"


@pytest.mark.points(2)
def test_squeeze_excitation_multiplies_each_channel_by_a_gate_between_0_and_1(student):
    call = "SqueezeExcitation(8, 2)"
    se = call_student(call, student.q7_efficientnet.SqueezeExcitation, 8, 2)
    shapes = student.harness.summary(se)["parameters"]
    se = se.double()
    se.load_state_dict(Weights({name: weight_value(name, shape, 1) for name, shape in shapes.items()}), strict=False)
    x = nonzero_seeded((2, 8, 5, 4), seed=2)
    out = call_student(f"{call} on a batch of shape (2, 8, 5, 4)", se, x)
    assert isinstance(out, torch.Tensor) and out.shape == x.shape, (
        f"{call}: the output should have the input's shape (2, 8, 5, 4), got {getattr(out, 'shape', out)!r}")
    gate = out / x
    spread = (gate.amax(dim=(2, 3)) - gate.amin(dim=(2, 3))).max().item()
    assert spread < 1e-9, (f"{call}: output / input should be one number per sample and channel (the gate), but it "
                           f"varies by {spread:.3g} across the image")
    assert ((gate > 0) & (gate < 1)).all(), (
        f"{call}: the gates should lie in (0, 1) (a sigmoid), got values from {gate.min().item():.4g} to "
        f"{gate.max().item():.4g}")


@pytest.mark.points(2)
def test_stochastic_depth_keeps_or_drops_whole_samples(student):
    sd = call_student("StochasticDepth(0.5)", student.q7_efficientnet.StochasticDepth, 0.5)
    x = nonzero_seeded((64, 3, 2, 2), seed=3, dtype=torch.float32)
    sd.eval()
    out = call_student("StochasticDepth(0.5) in eval mode", sd, x)
    assert isinstance(out, torch.Tensor) and torch.equal(out, x), (
        "StochasticDepth(0.5) in eval mode should return its input unchanged")
    sd.train()
    out = call_student("StochasticDepth(0.5) in training mode", sd, x)
    assert isinstance(out, torch.Tensor) and out.shape == x.shape, (
        f"StochasticDepth(0.5) in training mode should keep the shape (64, 3, 2, 2), got {getattr(out, 'shape', out)}")
    dropped = (out == 0).flatten(1).all(dim=1)
    kept = torch.isclose(out, x / 0.5, rtol=1e-6, atol=0).flatten(1).all(dim=1)
    odd = (~dropped & ~kept).nonzero().flatten().tolist()
    assert not odd, (f"StochasticDepth(0.5) in training mode: sample {odd[0]} is neither all zeros nor "
                     "x / (1 - p) = 2 * x; each sample must be dropped or kept (and scaled) as a whole")
    # with p = 0.5 and 64 independent samples, all kept or all dropped has probability 2 * 2**-64
    assert 0 < int(dropped.sum()) < 64, (
        f"StochasticDepth(0.5) in training mode dropped {int(dropped.sum())} of 64 samples; each sample should be "
        "dropped on its own, with probability 0.5")


RESIDUAL_CASES = [  # (block, whether it adds its input back)
    (Block(6, 3, 1, 16, 16), True),     # stride 1, same channels
    (Block(6, 3, 2, 16, 16), False),    # stride 2
    (Block(1, 5, 1, 16, 24), False),    # the channels change
]


@pytest.mark.points(2)
def test_mbconv_adds_the_input_back_only_for_stride_1_and_equal_channels(student):
    x = nonzero_seeded((2, 16, 6, 6), seed=4, dtype=torch.float32)
    for block, residual in RESIDUAL_CASES:
        module, call = student_mbconv(student, block, 0.2)
        assert module.use_residual is residual, f"{call}.use_residual is {module.use_residual!r}, expected {residual}"
        student.harness.zero_parameters(module)
        module.eval()
        call += " with every parameter zero, in eval mode"
        out = call_student(call, module, x)
        side = 6 // block.stride
        if residual:
            assert torch.equal(out, x), f"{call}: the output should be the input (the branch gives zeros)"
        else:
            assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2, block.out_channels, side, side), (
                f"{call}: the output should have shape {(2, block.out_channels, side, side)}, got "
                f"{getattr(out, 'shape', out)}")
            assert not out.any(), f"{call}: expected zeros (the branch gives zeros and nothing is added back)"


@pytest.mark.points(3)
def test_efficientnet_b0_has_torchvision_parameter_counts(student):
    model = call_student("efficientnet('b0', 10)", student.q7_efficientnet.efficientnet, "b0", 10)
    node = student.harness.summary(model)
    expect_counts(node, reference_counts(torchvision_variant("b0", 10)), "efficientnet('b0', 10)",
                  "torchvision's efficientnet_b0(num_classes=10)")  # 4,020,358


@pytest.mark.points(2)
def test_efficientnet_b0_classifies_cifar_images(student):
    model = call_student("efficientnet('b0', 10)", student.q7_efficientnet.efficientnet, "b0", 10)
    model.eval()
    for batch in (1, 3):
        x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(batch))
        out = call_student(f"efficientnet('b0', 10) in eval mode, on a batch of shape {tuple(x.shape)}", model, x)
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == (batch, 10), (
            f"efficientnet('b0', 10) on a batch of shape {tuple(x.shape)} should give logits of shape {(batch, 10)}, "
            f"got {getattr(out, 'shape', out)}")


def test_efficientnet_uses_no_torchvision_layers(student):
    model = call_student("efficientnet('b0', 10)", student.q7_efficientnet.efficientnet, "b0", 10)
    expect_own_layers(student.harness.summary(model), "efficientnet('b0', 10)")
