"""`genreg plot RUN`: the loss curves of metrics.jsonl as a PNG; bad input is one line."""

import json

from PIL import Image

from genreg.cli import main
from genreg.plotting.curves import read_metrics


def _write(path, records, torn=False):
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(text + ('{"step": 9, "d_lo' if torn else ""))


def test_plot_writes_the_loss_curves(tmp_path, capsys):
    records = [{"step": s, "epoch": 0, "d_loss": 1.0 / s, "g_loss": None if s == 2 else 0.5 * s, "lr_g": 1e-4,
                "skipped": 0, "samples_per_s": 100.0, "time_s": 0.1 * s} for s in range(1, 6)]
    _write(tmp_path / "metrics.jsonl", records, torn=True)
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4, 5]
    assert main(["plot", str(tmp_path)]) == 0
    assert "loss_curves.png" in capsys.readouterr().out
    with Image.open(tmp_path / "loss_curves.png") as im:
        assert im.format == "PNG" and im.size[0] > 300


def test_plot_errors_are_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert main(["plot", str(tmp_path)]) == 2
    assert "metrics.jsonl" in capsys.readouterr().err
    (tmp_path / "metrics.jsonl").write_text("")
    assert main(["plot", str(tmp_path)]) == 2
    assert "holds no logged step" in capsys.readouterr().err
    _write(tmp_path / "metrics.jsonl", [{"step": 1, "x": 1.0}])
    assert main(["plot", str(tmp_path), "--out", str(tmp_path / "a.jpg")]) == 2
    (tmp_path / "metrics.jsonl").write_text('garbage\n{"step": 1}\n')
    assert main(["plot", str(tmp_path)]) == 2
    assert "line 1 is not JSON" in capsys.readouterr().err
