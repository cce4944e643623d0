"""Question 7 (homework): EfficientNet-B0 to B7 built from a block table, trained on CIFAR-10.

EfficientNet (Tan & Le, 2019, https://arxiv.org/abs/1905.11946) is one small network, B0, scaled up
in three directions at once: wider layers (more channels), a deeper network (more blocks per stage)
and larger input images. You build the whole family from B0's table, then train B0 on CIFAR-10.

The building block: MBConv (mobile inverted bottleneck)
-------------------------------------------------------
For an input with C channels, expanded channels E = C * expand_ratio, a block computes

    1x1 conv C -> E, BatchNorm, SiLU              (skipped when expand_ratio == 1)
    k x k depthwise conv E -> E (groups=E, stride s, padding k // 2), BatchNorm, SiLU
    squeeze-and-excitation on E channels, squeezing to max(1, C // 4) channels (C: the block's input)
    1x1 conv E -> C_out, BatchNorm                (no activation: a linear bottleneck)

The convolutions followed by a BatchNorm2d have no bias (BatchNorm's eps and momentum are yours to
choose). When s == 1 and C == C_out, the input is added back (a residual connection) after
stochastic depth: in training, the whole branch of each sample is dropped with probability p and
kept ones are scaled by 1 / (1 - p); in evaluation it is the identity. Squeeze-and-excitation:
average each channel over the image, 1x1 conv E -> S (with bias), SiLU, 1x1 conv S -> E (with
bias), sigmoid; multiply the input by that gate in (0, 1).

B0, the base network
--------------------
    stem    3x3 conv 3 -> 32, stride 2, BatchNorm, SiLU
    stages  expand  kernel  stride  in   out  layers   (BASE_BLOCKS, one MBConvConfig per row)
              1       3       1     32    16     1
              6       3       2     16    24     2
              6       5       2     24    40     2
              6       3       2     40    80     3
              6       5       1     80   112     3
              6       5       2    112   192     4
              6       3       1    192   320     1
    head    1x1 conv 320 -> 1280 (4 x the last out), BatchNorm, SiLU
    then    global average pool, flatten, Dropout, Linear(1280, num_classes)

In a stage, only the first block has the row's stride and in channels; the others have stride 1
and take out channels in. Block i of the 16 (counting from 0 over all stages) gets stochastic-depth
probability stochastic_depth_prob * i / 16. With 10 classes B0 has 4,020,358 parameters.

Compound scaling
----------------
    variant  b0    b1    b2    b3    b4    b5    b6    b7
    width    1.0   1.0   1.1   1.2   1.4   1.6   1.8   2.0
    depth    1.0   1.1   1.2   1.4   1.8   2.2   2.6   3.1
    image    224   240   260   300   380   456   528   600
    dropout  0.2   0.2   0.3   0.3   0.4   0.4   0.5   0.5

Each row of BASE_BLOCKS is scaled: channels become make_divisible(channels * width) (a multiple of
8) and layers become ceil(layers * depth). The stem gets the first row's scaled in channels, the head
4 x the last row's scaled out channels. The counts then equal torchvision's `efficientnet_b0` ...
`efficientnet_b7`, layer by layer. `image` is the paper's training resolution; the network itself
accepts any image size (CIFAR-10's are 32 x 32).

What to write
-------------
`compound_scaling`, `make_divisible`, `scale_config`, the modules `SqueezeExcitation`,
`StochasticDepth`, `MBConv`, `EfficientNet`, and `efficientnet(name, num_classes)`. The dataclasses
and BASE_BLOCKS are given. Build everything from torch.nn layers (Conv2d, BatchNorm2d, SiLU, Sigmoid,
AdaptiveAvgPool2d, Dropout, Linear, Sequential) and your own classes: `torchvision.models` and
`torchvision.ops` are not allowed, and a model holding any torchvision layer fails the tests.
Your modules must also work in float64 (after `.double()`): create any tensor you need (e.g. the
stochastic-depth mask) with the input's dtype and device.

The data
--------
Train on the CIFAR-10 training set (50,000 images); the grader measures your checkpoint on the
CIFAR-10 test set (10,000 images), fed to your model as float32 tensors of shape (N, 3, 32, 32):
every pixel scaled to [0, 1], then normalised per channel with the CIFAR-10 mean and std below
(the same images as question 6's). Train on images normalised exactly the same way:

    from torchvision import datasets, transforms
    transform = transforms.Compose([
        transforms.ToTensor(),          # a 32x32 RGB image -> (3, 32, 32) float32 in [0, 1]
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.2435, 0.2616)),
    ])
    train_set = datasets.CIFAR10("data", train=True, download=True, transform=transform)

Not `Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))` nor the std (0.2023, 0.1994, 0.2010) of some
tutorials: a model trained on other numbers than it is graded on loses accuracy. Augmentation
(shifts, flips) goes before the normalisation. If your assignment's README.md names another dataset
for grading (the kit's synthetic images, for a trial run), its section "The data" says how to get
those images; their format and normalisation are the same.

What to submit
--------------
This file and `efficientnet.pt`: train `efficientnet("b0", 10)` on the training images, then
`torch.save(model.state_dict(), "efficientnet.pt")` (the state_dict only, not the whole model).
Also submit your question 6 files (`q6_lenet.py`, `lenet.pt`): EfficientNet is compared with your LeNet.

Training B0 from scratch on 32 x 32 images takes longer than LeNet. The staff's reference recipe:
AdamW (learning rate 1e-3, weight decay 1e-4), batch size 64, a cosine schedule over 15 epochs, random
shifts of up to 2 pixels, and the model and images in channels-last layout
(`model.to(memory_format=torch.channels_last)`, about twice as fast on a CPU). On two CPU cores one
epoch of 5000 images takes about 20 s; CIFAR-10's 50,000 take ten times as long.

How it is graded
----------------
Unit tests compare your parameter counts with torchvision's for every variant and several
num_classes (the whole model, each features[i] and each block), check the output shapes, the
residual rule (`use_residual`), squeeze-and-excitation, stochastic depth (eval and training
behaviour, and each block's `p`) and the classifier's dropout, and compare your blocks, small
networks and B0 with torchvision's when both hold the same weights: each parameter is set, by its
name (weight or bias) and shape, to the same values on both sides, both models run in eval mode
in float64, and the outputs must agree within 1e-6 * max(1, largest |output|). BatchNorm's eps is
yours: the reference uses the one your layers have.
Then the checkpoint: the grader builds your `efficientnet("b0", 10)`, loads the state_dict with
`torch.load(..., weights_only=True)`, calls `model.eval()` and, without gradients, feeds it the
normalised test images in batches of 250 on its device (CPU or GPU); a prediction is the index of
the largest logit. Its overall accuracy, its accuracy in every class, and its lead over your LeNet
(question 6, scored the same way) are compared with thresholds set by the course staff.
"""
import math
from dataclasses import dataclass, replace

import torch
from torch import nn


@dataclass(frozen=True)
class MBConvConfig:
    """One stage of the block table: `layers` MBConv blocks (also used for a single block)."""
    expand_ratio: int  # E = in_channels * expand_ratio channels inside the block
    kernel: int        # depthwise kernel size (odd)
    stride: int        # stride of the stage's first block (1 or 2)
    in_channels: int   # channels into the stage's first block
    out_channels: int  # channels out of every block of the stage
    layers: int        # number of blocks in the stage


BASE_BLOCKS = [  # EfficientNet-B0 (the paper's Table 1)
    MBConvConfig(1, 3, 1, 32, 16, 1),
    MBConvConfig(6, 3, 2, 16, 24, 2),
    MBConvConfig(6, 5, 2, 24, 40, 2),
    MBConvConfig(6, 3, 2, 40, 80, 3),
    MBConvConfig(6, 5, 1, 80, 112, 3),
    MBConvConfig(6, 5, 2, 112, 192, 4),
    MBConvConfig(6, 3, 1, 192, 320, 1),
]


@dataclass(frozen=True)
class Scaling:
    """How far a variant scales B0: width and depth multipliers, image size, classifier dropout."""
    width: float
    depth: float
    resolution: int
    dropout: float


def compound_scaling(name):
    """The scaling of one EfficientNet variant, from the table in this file's docstring.

    Args:
        name: "b0", "b1", ..., "b7" (lower case).

    Returns:
        A Scaling, e.g. compound_scaling("b3") == Scaling(width=1.2, depth=1.4, resolution=300,
        dropout=0.3).

    Raises:
        ValueError: for any other name; the message lists the valid names b0, b1, ..., b7.
    """
    # BEGIN SOLUTION
    table = {
        "b0": Scaling(1.0, 1.0, 224, 0.2), "b1": Scaling(1.0, 1.1, 240, 0.2),
        "b2": Scaling(1.1, 1.2, 260, 0.3), "b3": Scaling(1.2, 1.4, 300, 0.3),
        "b4": Scaling(1.4, 1.8, 380, 0.4), "b5": Scaling(1.6, 2.2, 456, 0.4),
        "b6": Scaling(1.8, 2.6, 528, 0.5), "b7": Scaling(2.0, 3.1, 600, 0.5),
    }
    if name not in table:
        raise ValueError(f"no EfficientNet variant {name!r}; use one of {', '.join(table)}")
    return table[name]
    # END SOLUTION


def make_divisible(value, divisor=8):
    """Round a channel count to a multiple of `divisor`, as EfficientNet's width scaling does.

    Take the nearest multiple of divisor (a value exactly halfway rounds up), but at least divisor;
    if that is below 0.9 * value (rounding down lost more than 10%), add one more divisor.

    Args:
        value: a positive number of channels, int or float (e.g. 16 * 1.2 = 19.2).
        divisor: a positive int, 8 in EfficientNet.

    Returns:
        A Python int, a multiple of divisor.

    Examples:
        >>> make_divisible(35.2)    # 32 is nearest and within 10%
        32
        >>> make_divisible(19.2)    # 16 is nearest but 16 < 0.9 * 19.2 = 17.28
        24
        >>> make_divisible(44)      # halfway between 40 and 48: rounds up
        48
        >>> make_divisible(3), make_divisible(30, divisor=4)
        (8, 32)
    """
    # BEGIN SOLUTION
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
    # END SOLUTION


def scale_config(config, scaling):
    """One row of the block table, scaled for a variant.

    Args:
        config: an MBConvConfig (a row of BASE_BLOCKS).
        scaling: a Scaling (from compound_scaling).

    Returns:
        A new MBConvConfig with in_channels and out_channels replaced by
        make_divisible(channels * scaling.width), layers by math.ceil(layers * scaling.depth),
        and expand_ratio, kernel and stride unchanged.

    Example:
        >>> scale_config(MBConvConfig(6, 3, 2, 16, 24, 2), compound_scaling("b3"))
        MBConvConfig(expand_ratio=6, kernel=3, stride=2, in_channels=24, out_channels=32, layers=3)
    """
    # BEGIN SOLUTION
    return replace(config, in_channels=make_divisible(config.in_channels * scaling.width),
                   out_channels=make_divisible(config.out_channels * scaling.width),
                   layers=math.ceil(config.layers * scaling.depth))
    # END SOLUTION


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: reweight each channel by a gate computed from the whole image.

    Args:
        channels: C, the channels of the input and output.
        squeeze_channels: S, the channels in between.

    Layers: global average pool, 1x1 conv C -> S (with bias), SiLU, 1x1 conv S -> C (with bias),
    sigmoid. Parameters: 2 * C * S + S + C.

    Shape:
        Input (N, C, H, W); output (N, C, H, W): out[n, c] = x[n, c] * gate[n, c], with one gate
        in (0, 1) per sample and channel.
    """

    def __init__(self, channels, squeeze_channels):
        super().__init__()
        # BEGIN SOLUTION
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = nn.SiLU()
        self.expand = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = nn.Sigmoid()
        # END SOLUTION

    def forward(self, x):
        """x of shape (N, C, H, W) -> x times its gate, shape (N, C, H, W)."""
        # BEGIN SOLUTION
        scale = self.gate(self.expand(self.activation(self.reduce(self.pool(x)))))
        return x * scale
        # END SOLUTION


class StochasticDepth(nn.Module):
    """Randomly drop the residual branch of whole samples during training.

    Args:
        p: probability of dropping a sample's branch, 0 <= p < 1 (keep the attribute name `p`).

    Shape:
        Input (N, ...) of any shape; output the same shape. In training mode, each sample
        (x[n]) is, independently, all zeros with probability p and x[n] / (1 - p) otherwise.
        In evaluation mode (after .eval()), and whenever p == 0, the output equals the input.
    """

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        """x of shape (N, ...) -> the same shape, each sample dropped or scaled in training."""
        # BEGIN SOLUTION
        if not self.training or self.p == 0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        mask.bernoulli_(keep)
        return x * mask / keep
        # END SOLUTION


class MBConv(nn.Module):
    """One MBConv block (see this file's docstring), from one MBConvConfig.

    Args:
        config: uses expand_ratio, kernel, stride, in_channels and out_channels (not layers).
        stochastic_depth_prob: p of the block's StochasticDepth.

    Attributes:
        use_residual: a bool, True exactly when config.stride == 1 and in_channels == out_channels; then
            the block returns StochasticDepth(branch(x)) + x, otherwise branch(x).
        The block holds one StochasticDepth(stochastic_depth_prob) when use_residual is True.

    Shape:
        Input (N, in_channels, H, W); output (N, out_channels, H', W'), with H' = ceil(H / stride)
        and W' = ceil(W / stride).
    """

    def __init__(self, config, stochastic_depth_prob):
        super().__init__()
        # BEGIN SOLUTION
        expanded = config.in_channels * config.expand_ratio
        layers = []
        if config.expand_ratio != 1:
            layers += [nn.Conv2d(config.in_channels, expanded, 1, bias=False), nn.BatchNorm2d(expanded), nn.SiLU()]
        layers += [
            nn.Conv2d(expanded, expanded, config.kernel, config.stride, padding=config.kernel // 2,
                      groups=expanded, bias=False),
            nn.BatchNorm2d(expanded),
            nn.SiLU(),
            SqueezeExcitation(expanded, max(1, config.in_channels // 4)),
            nn.Conv2d(expanded, config.out_channels, 1, bias=False),
            nn.BatchNorm2d(config.out_channels),
        ]
        self.branch = nn.Sequential(*layers)
        self.use_residual = config.stride == 1 and config.in_channels == config.out_channels
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        # END SOLUTION

    def forward(self, x):
        """x of shape (N, in_channels, H, W) -> (N, out_channels, H', W')."""
        # BEGIN SOLUTION
        out = self.branch(x)
        if self.use_residual:
            out = self.stochastic_depth(out) + x
        return out
        # END SOLUTION


class EfficientNet(nn.Module):
    """EfficientNet from a table of stages (BASE_BLOCKS for B0, or a scaled copy).

    Args:
        blocks: list of MBConvConfig, one per stage, in order; each stage's in_channels is the
            previous stage's out_channels.
        dropout: p of the classifier's Dropout.
        stochastic_depth_prob: block i of all T blocks (i from 0) gets stochastic_depth_prob * i / T.
        num_classes: outputs of the last Linear layer.

    Attributes:
        features: nn.Sequential of len(blocks) + 2 modules: the stem (3x3 conv, stride 2,
            3 -> blocks[0].in_channels, BatchNorm, SiLU), one nn.Sequential of MBConv per stage,
            the head (1x1 conv to 4 * blocks[-1].out_channels, BatchNorm, SiLU).
        avgpool: nn.AdaptiveAvgPool2d(1).
        classifier: nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * blocks[-1].out_channels,
            num_classes)).

    Shape:
        Input (N, 3, H, W), any H, W >= 1; output (N, num_classes): the logits.
    """

    def __init__(self, blocks, dropout, stochastic_depth_prob=0.2, num_classes=1000):
        super().__init__()
        # BEGIN SOLUTION
        stem, head = blocks[0].in_channels, 4 * blocks[-1].out_channels
        layers = [nn.Sequential(nn.Conv2d(3, stem, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(stem),
                                nn.SiLU())]
        total, index = sum(config.layers for config in blocks), 0
        for config in blocks:
            stage = []
            for repeat in range(config.layers):
                block = config if repeat == 0 else replace(config, in_channels=config.out_channels, stride=1)
                stage.append(MBConv(block, stochastic_depth_prob * index / total))
                index += 1
            layers.append(nn.Sequential(*stage))
        layers.append(nn.Sequential(nn.Conv2d(blocks[-1].out_channels, head, 1, bias=False), nn.BatchNorm2d(head),
                                    nn.SiLU()))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(head, num_classes))
        # END SOLUTION

    def forward(self, x):
        """Images (N, 3, H, W) -> logits (N, num_classes)."""
        # BEGIN SOLUTION
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
        # END SOLUTION


def efficientnet(name, num_classes=1000):
    """EfficientNet-B0 ... B7: BASE_BLOCKS scaled by compound_scaling(name).

    Args:
        name: "b0" ... "b7".
        num_classes: outputs of the classifier (10 for CIFAR-10).

    Returns:
        EfficientNet(scaled blocks, dropout=compound_scaling(name).dropout, stochastic_depth_prob=0.2,
        num_classes=num_classes), with exactly the parameters of torchvision's efficientnet_<name>.

    Examples:
        >>> model = efficientnet("b0", num_classes=10)
        >>> sum(p.numel() for p in model.parameters())
        4020358
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    # BEGIN SOLUTION
    scaling = compound_scaling(name)
    blocks = [scale_config(config, scaling) for config in BASE_BLOCKS]
    return EfficientNet(blocks, scaling.dropout, num_classes=num_classes)
    # END SOLUTION
