"""Loaders for users' files (npz, npy, image folders) and load_dataset's spec and params."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch
from PIL import Image

from genreg.data import load_dataset, parse_params
from genreg.data.files import load_images, load_npy, load_npz
from genreg.errors import UnknownEntryError, UsageError


def one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


@pytest.fixture
def book_file(tmp_path):
    """A small file laid out like the book's radio data: keys traces and signals, (N, 500)."""
    rng = np.random.default_rng(0)
    signals = np.zeros((20, 500), np.float32)
    signals[:, 240:260] = rng.normal(size=(20, 20))
    traces = signals + rng.normal(size=(20, 500)).astype(np.float32)
    path = tmp_path / "radio.npz"
    np.savez(path, traces=traces, signals=signals)
    return path, traces, signals


# ----------------------------------------------------------------------------- npz

def test_book_layout_loads_as_denoising_pairs(book_file):
    path, traces, signals = book_file
    d = load_npz("all", path=str(path))
    assert d.x.shape == (20, 1, 500) and d.target.shape == (20, 1, 500) and d.y is None
    assert d.x.dtype == torch.float32
    np.testing.assert_array_equal(d.x[:, 0].numpy(), traces)
    np.testing.assert_array_equal(d.target[:, 0].numpy(), signals)


def test_train_and_test_partition_the_file(book_file):
    path, traces, _ = book_file
    train = load_npz("train", path=str(path), test_fraction=0.25)
    test = load_npz("test", path=str(path), test_fraction=0.25)
    assert len(train) == 15 and len(test) == 5
    rows = {r.tobytes() for r in np.concatenate([train.x[:, 0].numpy(), test.x[:, 0].numpy()])}
    assert rows == {r.tobytes() for r in traces}
    # the run's seed does not move samples between splits
    assert torch.equal(load_npz("test", seed=7, path=str(path), test_fraction=0.25).x, test.x)


def test_split_is_stratified_by_class(tmp_path):
    path = tmp_path / "lab.npz"
    np.savez(path, x=np.arange(40, dtype=np.float32).reshape(20, 2), y=np.repeat([0, 1], 10))
    test = load_npz("test", path=str(path), test_fraction=0.2)
    assert torch.bincount(test.y).tolist() == [2, 2]
    assert test.x.shape == (4, 2)  # 2 values per sample stay points, no channel axis


def test_explicit_keys_and_labels(tmp_path):
    path = tmp_path / "custom.npz"
    np.savez(path, inputs=np.ones((6, 3, 8, 8), np.float32), cls=np.array([0, 1, 2, 0, 1, 2]))
    d = load_npz("all", path=str(path), x_key="inputs", y_key="cls")
    assert d.x.shape == (6, 3, 8, 8) and d.y.dtype == torch.int64 and d.num_classes == 3


def test_channels_last_images_and_uint8_are_converted(tmp_path):
    path = tmp_path / "img.npz"
    images = np.full((4, 8, 8, 3), 255, np.uint8)
    images[..., 0] = 0
    np.savez(path, images=images, labels=np.array([0, 1, 0, 1]))
    d = load_npz("all", path=str(path))
    assert d.x.shape == (4, 3, 8, 8)
    assert d.x[:, 0].max() == 0.0 and d.x[:, 1].min() == 1.0
    assert load_npz("all", path=str(path), layout="keep").x.shape == (4, 8, 8, 3)


@pytest.mark.parametrize("make, words", [
    (lambda p: np.savez(p, traces=np.ones((5, 10)), signals=np.ones((5, 11))),
     "key 'signals' has shape (5, 11), but key 'traces' has shape (5, 10)"),
    (lambda p: np.savez(p, x=np.ones(5)), "must have a sample axis"),
    (lambda p: np.savez(p, x=np.ones((5, 10)), y=np.ones((4,))), "must have shape (5,)"),
    (lambda p: np.savez(p, x=np.ones((5, 10), complex)), "dtype complex128"),
    (lambda p: np.savez(p, x=np.array([["a", "b"]] * 3)), "dtype <U1"),
    (lambda p: np.savez(p, x=np.ones((3, 10)), y=np.array([0.5, 1, 2])), "labels must be integers"),
    (lambda p: np.savez(p, x=np.ones((3, 10)), y=np.array([0, -1, 2])), "negative labels"),
    (lambda p: np.savez(p, x=np.array([None, 1], dtype=object)), "Python objects"),
    (lambda p: np.savez(p, a=np.ones((3, 10)), b=np.ones((3, 10))), "no key named x or traces"),
    (lambda p: np.savez(p, x=np.ones((0, 10))), "holds no samples"),
])
def test_bad_npz_contents_are_one_line_errors(tmp_path, make, words):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(UsageError) as info:
        load_npz("all", path=str(path))
    assert words in one_line(info)


def test_missing_key_names_the_keys(book_file):
    path, _, _ = book_file
    with pytest.raises(UsageError) as info:
        load_npz(path=str(path), target_key="clean")
    assert "has no key 'clean'; keys are: traces, signals" in one_line(info)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UsageError, match="file not found"):
        load_npz(path=str(tmp_path / "nope.npz"))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(UsageError) as info:
        load_npz(path=str(junk))
    assert "cannot read" in one_line(info)
    with pytest.raises(UsageError, match="is a folder"):
        load_npz(path=str(tmp_path))


def test_non_finite_values_error_or_drop_with_a_count(tmp_path):
    x = np.ones((10, 6), np.float32)
    x[3, 2] = np.nan
    x[7, 0] = np.inf
    path = tmp_path / "nan.npz"
    np.savez(path, x=x)
    with pytest.raises(UsageError) as info:
        load_npz("all", path=str(path))
    assert "2 samples with NaN or Inf (first at index 3)" in one_line(info)
    with pytest.warns(UserWarning, match="dropped 2 of 10 samples"):
        d = load_npz("all", path=str(path), nonfinite="drop")
    assert len(d) == 8 and torch.isfinite(d.x).all()


def test_non_finite_target_is_caught_too(tmp_path):
    path = tmp_path / "nan_t.npz"
    t = np.zeros((4, 10))
    t[1, 1] = np.nan
    np.savez(path, traces=np.zeros((4, 10)), signals=t)
    with pytest.raises(UsageError, match="key 'signals' has 1 samples with NaN"):
        load_npz("all", path=str(path))


def test_empty_split_is_an_error(book_file):
    path, _, _ = book_file
    with pytest.raises(UsageError, match="the test split is empty"):
        load_npz("test", path=str(path), test_fraction=0.0)


# ----------------------------------------------------------------------------- npy

def test_npy_with_sibling_target_and_labels(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(60, dtype=np.float64).reshape(6, 10))
    np.save(tmp_path / "t.npy", np.zeros((6, 10)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1, 0, 1], np.int32))
    d = load_npy("all", path=str(tmp_path / "x.npy"), target_path=str(tmp_path / "t.npy"),
                 y_path=str(tmp_path / "y.npy"))
    assert d.x.shape == (6, 1, 10) and d.x.dtype == torch.float32 and d.target.shape == (6, 1, 10)
    assert d.y.tolist() == [0, 1, 0, 1, 0, 1]


def test_npy_errors(tmp_path, book_file):
    path, _, _ = book_file
    with pytest.raises(UsageError, match="is a .npz archive; use npz:"):
        load_npy(path=str(path))
    np.save(tmp_path / "x.npy", np.ones((4, 10)))
    np.save(tmp_path / "t.npy", np.ones((4, 9)))
    with pytest.raises(UsageError, match=r"t.npy has shape \(4, 9\), but x.npy has shape \(4, 10\)"):
        load_npy(path=str(tmp_path / "x.npy"), target_path=str(tmp_path / "t.npy"))
    with pytest.raises(UsageError, match="file not found"):
        load_npy(path=str(tmp_path / "x.npy"), y_path=str(tmp_path / "missing.npy"))
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(UsageError, match="cannot read file"):
        load_npy(path=str(tmp_path / "broken.npy"))


# ----------------------------------------------------------------------------- images

def _png(path, size=(20, 12), colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def image_dir(tmp_path):
    root = tmp_path / "imgs"
    for i in range(5):
        _png(root / "cats" / f"c{i}.png", colour=(200, 30, 30))
        _png(root / "dogs" / f"d{i}.jpg", size=(9, 15), colour=(30, 30, 200))
    return root


def test_image_folder_loads_resized_with_labels(image_dir):
    d = load_images("all", path=str(image_dir), size=16)
    assert d.x.shape == (10, 3, 16, 16) and d.x.dtype == torch.float32
    assert d.class_names == ("cats", "dogs") and torch.bincount(d.y).tolist() == [5, 5]
    assert 0 <= d.x.min() and d.x.max() <= 1
    reds = d.x[d.y == 0][:, 0].mean()
    blues = d.x[d.y == 1][:, 2].mean()
    assert reds > 0.7 and blues > 0.7  # each class kept its own pixels
    grey = load_images("all", path=str(image_dir), size=8, channels=1, value_range=(-1, 1))
    assert grey.x.shape == (10, 1, 8, 8) and grey.x.min() >= -1 and grey.x.max() <= 1


def test_image_splits_partition_each_class(image_dir):
    train = load_images("train", path=str(image_dir), size=8, test_fraction=0.2)
    test = load_images("test", path=str(image_dir), size=8, test_fraction=0.2)
    assert torch.bincount(test.y).tolist() == [1, 1] and torch.bincount(train.y).tolist() == [4, 4]
    assert not set(train.meta["files"]) & set(test.meta["files"])


def test_unreadable_image_is_an_error_or_skipped_with_a_count(image_dir):
    (image_dir / "cats" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UsageError) as info:
        load_images("all", path=str(image_dir), size=8)
    assert "cannot read image" in one_line(info) and "broken.png" in str(info.value)
    with pytest.warns(UserWarning, match="skipped 1 unreadable images"):
        d = load_images("all", path=str(image_dir), size=8, bad_images="skip")
    assert len(d) == 10


def test_other_files_are_reported_not_silently_dropped(image_dir):
    (image_dir / "cats" / "notes.txt").write_text("hello")
    (image_dir / "cats" / ".hidden").write_text("ignored")
    with pytest.warns(UserWarning, match="ignored 1 files .* not images"):
        d = load_images("all", path=str(image_dir), size=8)
    assert len(d) == 10


def test_images_without_class_folders_load_unlabelled(tmp_path):
    for i in range(3):
        _png(tmp_path / "flat" / f"{i}.png")
    d = load_images("all", path=str(tmp_path / "flat"), size=8)
    assert d.x.shape == (3, 3, 8, 8) and d.y is None


def test_image_folder_errors(tmp_path, image_dir):
    with pytest.raises(UsageError, match="folder not found"):
        load_images(path=str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError) as info:
        load_images(path=str(tmp_path / "empty"))
    assert "no images in" in one_line(info)
    (image_dir / "birds").mkdir()
    with pytest.raises(UsageError, match="class folder .*birds has no images"):
        load_images(path=str(image_dir))
    with pytest.raises(UsageError, match="not a folder"):
        load_images(path=str(image_dir / "cats" / "c0.png"))


# ----------------------------------------------------------------------------- load_dataset

def test_load_dataset_parses_spec_and_string_params(book_file):
    path, _, _ = book_file
    d = load_dataset(f"npz:{path}", split="all", layout="keep")
    assert d.x.shape == (20, 500)
    r = load_dataset("radio", seed=1, n="8", snr="2,5", noise="cosine", normalize="false")
    assert len(r) == 8 and r.meta["params"]["snr"] == (2.0, 5.0) and r.meta["params"]["normalize"] is False
    assert load_dataset("radio", n="1e1", snr="3").meta["params"]["snr"] == (3.0, 3.0)


def test_load_dataset_errors(book_file):
    path, _, _ = book_file
    with pytest.raises(UsageError) as info:
        load_dataset("radio", snrr="3")
    assert "has no parameter 'snrr' (did you mean 'snr'?); parameters: n, noise, snr" in one_line(info)
    with pytest.raises(UsageError, match="noise='pink' is not a valid realistic|uniform|cosine"):
        load_dataset("radio", noise="pink")
    with pytest.raises(UsageError, match="n='many' is not a valid int"):
        load_dataset("radio", n="many")
    with pytest.raises(UsageError, match="needs a path: use npz:PATH"):
        load_dataset("npz")
    with pytest.raises(UsageError, match="takes no path"):
        load_dataset("radio:/tmp/x")
    with pytest.raises(UnknownEntryError, match="did you mean 'radio'"):
        load_dataset("radoi")


def test_parse_params_converts_to_annotations():
    from genreg.data.galaxies import galaxies
    from genreg.data.radio import radio

    assert parse_params("radio", radio, {"snr": "4"}) == {"snr": 4.0}
    assert parse_params("radio", radio, {"cache": "none", "normalize": "yes"}) == {"cache": None, "normalize": True}
    assert parse_params("galaxies", galaxies, {"value_range": "-1,1", "size": "64"}) == {
        "value_range": (-1.0, 1.0), "size": 64}
    # typed values from config files pass through; lists become tuples
    assert parse_params("radio", radio, {"snr": [2, 5], "n": 10}) == {"snr": (2, 5), "n": 10}
    with pytest.raises(UsageError, match=r"value_range='1' is not a valid \(float, float\)"):
        parse_params("galaxies", galaxies, {"value_range": "1"})


def test_no_warning_for_clean_files(book_file):
    path, _, _ = book_file
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_npz(path=str(path))


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["n", "snr", "noise", "normalize", "cache", "noise_only", "bogus"]), value=st.text(max_size=12))
def test_any_override_string_parses_or_gives_a_one_line_usage_error(key, value):
    from genreg.data.radio import radio

    try:
        parsed = parse_params("radio", radio, {key: value})
    except UsageError as exc:
        assert "\n" not in str(exc) and key in str(exc)
    else:
        assert set(parsed) == {key}
