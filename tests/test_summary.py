"""cn.summary: shapes, parameters, MACs (hand-computed) and receptive fields."""
import pytest

import convnet as cn
from convnet import models, nn
from convnet.summary import main_summary, summary


def rows_by_name(s):
    return {r.name: r for r in s.rows}


def test_lenet5_hand_computed():
    s = cn.summary(models.get("lenet5"), (1, 32, 32))
    r = rows_by_name(s)
    assert r["features.c1"].output_shape == (1, 6, 28, 28)
    assert r["features.c1"].macs == 6 * 28 * 28 * 1 * 5 * 5        # 117,600
    assert r["features.c3"].macs == 16 * 10 * 10 * 6 * 5 * 5       # 240,000
    assert r["features.c5"].macs == 120 * 1 * 1 * 16 * 5 * 5       # 48,000
    assert r["classifier.f6"].macs == 120 * 84
    assert r["classifier.output"].macs == 84 * 10
    assert r["features.s2"].macs == 0 and r["features.act1"].macs == 0
    assert s.total_macs == 416_520
    assert s.total_params == s.trainable_params == 61_706
    assert r["features.c3"].params == 2_416
    # receptive fields: 5, pool -> 6 (jump 2), 6 + 4*2 = 14, pool -> 16 (jump 4), 16 + 4*4 = 32
    assert [r[k].receptive_field for k in ("features.c1", "features.s2", "features.c3",
                                           "features.s4", "features.c5")] == [5, 6, 14, 16, 32]
    assert r["features.s4"].jump == 4
    assert s.output_shape == (1, 10)


def test_simple_cnn_macs_and_shapes():
    s = summary(models.get("simple_cnn"), (3, 39, 39))
    r = rows_by_name(s)
    assert [r[k].output_shape[1:] for k in ("conv1", "conv2", "conv3", "flatten")] == \
        [(10, 37, 37), (20, 17, 17), (40, 7, 7), (1960,)]
    assert s.total_macs == 10 * 37 * 37 * 27 + 20 * 17 * 17 * 250 + 40 * 7 * 7 * 500 + 1960 * 10
    assert r["conv3"].receptive_field == 3 + 4 * 1 + 4 * 2  # 15
    assert r["fc"].receptive_field == 15 + 6 * 4           # flatten covers the 7x7 map


def test_inception_bottleneck_argument():
    """The notes: 5x5x32 on 28x28x192 = 120.4M mults; 1x1 to 16 first = 12.4M."""
    naive = summary(nn.Sequential(nn.Conv2d(192, 32, 5, padding=2)), (192, 28, 28))
    assert naive.total_macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    bottleneck = summary(nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2)),
                         (192, 28, 28))
    assert bottleneck.total_macs == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    assert bottleneck.rows[-1].output_shape == (1, 32, 28, 28)


def test_grouped_conv_and_batch_dim():
    s = summary(nn.Sequential(nn.Conv2d(8, 16, 3, groups=4)), (5, 8, 10, 10))
    assert s.input_shape == (5, 8, 10, 10)
    assert s.rows[0].output_shape == (5, 16, 8, 8)
    assert s.total_macs == 16 * 8 * 8 * (8 // 4) * 9  # per sample


class TwoBranch(nn.Module):
    """cat of a 1x1 and a 3x3 branch: the concatenation has the larger field (3)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 2, 3, padding=1)
        self.b = nn.Conv2d(2, 2, 1)
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        return self.head(cn.cat([self.a(x), self.b(x)], dim=1))


def test_receptive_field_through_concatenation():
    s = summary(TwoBranch(), (2, 8, 8))
    assert [r.receptive_field for r in s.rows] == [3, 1, 3]


def test_receptive_field_through_residual_addition():
    # CIFAR ResNet-20: stem 3; stage 1 adds 6 convs x 2 = 15; stage 2: +2 (stride 2), then 5 x 4
    # = 37; stage 3: +4, then 5 x 8 = 81. The block's `+` takes the residual branch's field even
    # though the shortcut (Identity) is the last module called before the ReLU.
    s = summary(models.get("resnet20"), (3, 32, 32))
    relus = [r for r in s.rows if r.name.endswith("relu")]
    assert relus[0].receptive_field == 3
    assert [r.receptive_field for r in s.rows if r.name in ("layer1.2.relu",)][-1] == 15
    assert [r.receptive_field for r in s.rows if r.name == "layer2.2.relu"][-1] == 37
    assert [r.receptive_field for r in s.rows if r.name == "layer3.2.relu"][-1] == 81
    assert s.total_params == 269_722


@pytest.mark.slow
def test_vgg16_and_resnet50_gmacs_at_224():
    s = summary(models.get("vgg16", num_classes=1000), (3, 224, 224))
    assert s.total_macs == 15_470_264_320                        # 15.47 GMACs
    s = summary(models.get("resnet50", num_classes=1000), (3, 224, 224))
    assert s.total_macs == 4_089_184_256                         # ~4.1 GMACs


def test_resnet50_macs_at_64():
    # hand count per stage at 64x64 input (conv1 -> 32, maxpool -> 16, stages 16/8/4/2)
    s = summary(models.get("resnet50", num_classes=1000), (3, 64, 64))
    assert rows_by_name(s)["conv1"].macs == 64 * 32 * 32 * 3 * 49
    assert rows_by_name(s)["fc"].macs == 2048 * 1000
    assert s.total_params == 25_557_032
    # Every map is 224/64 = 3.5x smaller per side than at 224, so conv MACs are /12.25 of
    # torchvision ResNet-50's 4,089,184,256 MACs (fvcore's count) minus its 2,048,000 fc MACs.
    assert s.total_macs == (4_089_184_256 - 2_048_000) * 4 // 49 + 2_048_000


def test_table_string_and_modes_restored():
    m = models.get("lenet5")
    assert m.training
    s = summary(m, (1, 32, 32))
    assert m.training
    text = str(s)
    assert "features.c1 (Conv2d)" in text and "61,706" in text and "416,520" in text
    assert "(1, 6, 28, 28)" in text


def test_main_summary_defaults_and_shape_string():
    text = main_summary("lenet5")
    assert "Total params: 61,706" in text
    text = main_summary("resnet20", input_shape="3,16,16")
    assert "(1, 3, 16, 16)" in text and "269,722" in text


def test_unused_modules_still_counted():
    m = models.get("googlenet", aux_logits=True)
    s = summary(m, (3, 32, 32))  # eval mode: the aux heads do not run, but their params count
    assert not any(r.name.startswith("aux") for r in s.rows)
    assert s.total_params == sum(p._data.size for p in m.parameters())
    assert m.training


def test_bad_arguments():
    with pytest.raises(TypeError, match="summary"):
        summary("lenet5", (1, 32, 32))
    with pytest.raises(ValueError, match="input_shape"):
        summary(models.get("lenet5"), "a,b")


def test_jarrett_stage_fields_include_lcn_window():
    # stage 1: conv5 -> 5, LCN 5x5 -> 9, pool 2 -> 10 (jump 2);
    # stage 2: conv5 -> 18, LCN -> 26, pool -> 28 (jump 4); flatten over 5x5 -> 28 + 4*4 = 44
    s = summary(models.get("jarrett"), (3, 32, 32))
    r = rows_by_name(s)
    stage1 = [r[f"stage1.{k}"].receptive_field for k in ("conv", "tanh", "abs", "lcn", "pool")]
    assert stage1 == [5, 5, 5, 9, 10]
    assert [r[f"stage2.{k}"].receptive_field for k in ("conv", "lcn", "pool")] == [18, 26, 28]
    assert r["classifier.1"].receptive_field == 44
    assert r["stage2.pool"].output_shape == (1, 32, 5, 5)


def test_estimate_matches_the_real_layer_outputs():
    """The shape-free estimate (default-shape summary scaled by the input area) is close to the real
    total at a larger input, computed independently from an actual summary's rows."""
    import math

    from convnet.summary import estimate_output_bytes

    real = summary(models.get("resnet20"), (3, 64, 64))
    actual = 4 * (math.prod(real.input_shape) + sum(math.prod(r.output_shape) for r in real.rows))
    est = estimate_output_bytes("resnet20", (3, 64, 64))
    assert 0.9 * actual <= est <= 1.1 * actual


def test_huge_input_shape_is_refused_before_allocating():
    """3x100000x100000 used to try to allocate 112 GiB; now a ValueError naming the argument,
    with a small peak of traced memory (nothing of the input's size is allocated)."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"summary: input_shape 3,100000,100000 is too large: resnet18's "
                                             r"layer outputs would need about .* GiB \(the input alone 111.8 GiB\)"):
            main_summary("resnet18", input_shape=(3, 100000, 100000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 512 << 20
    with pytest.raises(ValueError, match=r"input_shape 3,64,64 is too large.* more than the 1.0 MiB limit"):
        main_summary("resnet20", input_shape="3,64,64", max_bytes=1 << 20)


@pytest.mark.parametrize("shape, match", [
    ("224,224", r"summary: input_shape must be C,H,W \(three positive ints"),
    ((1, 3, 32, 32), "must be C,H,W"),
    ("3,-4,32", "must be positive ints"),
])
def test_main_summary_shape_must_be_chw(shape, match):
    with pytest.raises(ValueError, match=match):
        main_summary("resnet20", input_shape=shape)


def test_main_summary_names_the_argument_when_the_model_cannot_take_the_shape():
    with pytest.raises(ValueError, match=r"summary: --input-shape 3,64,64 does not fit lenet5 \(designed for "
                                         r"1,32,32\): "):
        main_summary("lenet5", input_shape="3,64,64", arg="--input-shape")


def test_cli_summary_of_a_text_model_feeds_token_ids():
    """textcnn reads (N, L) int64 ids: the table has the embedding and conv rows with the paper's counts."""
    from convnet.summary import main_summary

    table = main_summary("textcnn")
    assert "Embedding" in table and "(1, 256) -> output (1, 14)" in table
    expected = 256 * 64 + sum((64 * k + 1) * 100 for k in (3, 4, 5)) + (300 + 1) * 14
    assert f"Total params: {expected:,}" in table


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_lstm_macs_per_step_and_layer(layers, bidirectional):
    class Net(cn.nn.Module):  # summary adds a batch axis to a 3-value shape: take it off for (N, L, H_in)
        def __init__(self):
            super().__init__()
            self.lstm = cn.nn.LSTM(10, 6, num_layers=layers, batch_first=True, bidirectional=bidirectional)

        def forward(self, x):
            return self.lstm(x[0])[0]

    s = cn.summary(Net(), (2, 7, 10))
    d = 2 if bidirectional else 1
    # torch's equations: each step, 4 gates of 6 units read x_t (10, or d*6 above layer 1) and h (6)
    per_step = sum(4 * 6 * (i + 6) for i in [10] + [d * 6] * (layers - 1)) * d
    assert s.total_macs == 2 * 7 * per_step  # the wrapper's one sample holds N = 2 sequences of 7 steps
    torch = pytest.importorskip("torch")
    assert s.total_params == sum(p.numel() for p in torch.nn.LSTM(10, 6, layers, batch_first=True,
                                                                    bidirectional=bidirectional).parameters())


def test_video_summaries_count_every_frame(capsys):
    """A per-frame CNN runs on T frames folded into the batch: its MACs per clip are T times a frame's."""
    from convnet.cli.main import main

    assert main(["summary", "frame_avg_cnn"]) == 0
    clip = capsys.readouterr()[0]
    frame = cn.summary(cn.models.video.get("frame_avg_cnn", num_classes=8), (1, 1, 1, 64, 64))  # T = 1
    assert "input (1, 1, 16, 64, 64)" in clip
    assert f"Total MACs (per sample): {16 * frame.total_macs:,}" in clip
    assert main(["summary", "c3d_small"]) == 0 and "Conv3d" in capsys.readouterr()[0]
    assert main(["summary", "c3d_small", "--input-shape", "1,32,32"]) == 2
