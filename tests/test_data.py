"""course_utils.data: sources, verification, atomic writes, clear errors, loading."""
import gzip

import numpy as np
import pytest
import torch

from course_utils import data
from course_utils.data import (CLASS_NAMES, FASHION_MNIST_FILES, DataUnavailableError, fashion_mnist_status,
                               load_fashion_mnist, prepare_fashion_mnist, raw_dir, read_idx, verify_file)



def leftovers(folder):
    """Temporary files an interrupted write could leave behind."""
    return sorted(p.name for p in folder.rglob("*.part"))


def prepare_tiny(ds, **kw):
    kw.setdefault("local_dirs", [ds["gz_dir"]])
    kw.setdefault("download", False)
    return prepare_fashion_mnist(ds["root"], files=ds["specs"], **kw)


def test_prepares_from_local_gz_and_reads_back(tiny_dataset):
    reports = prepare_tiny(tiny_dataset)
    assert [r.action for r in reports] == ["prepared", "prepared"]
    for spec in tiny_dataset["specs"]:
        path = raw_dir(tiny_dataset["root"]) / spec.name
        assert verify_file(path, spec) is None
        np.testing.assert_array_equal(read_idx(path), tiny_dataset["arrays"][spec.name])


def test_second_prepare_only_verifies(tiny_dataset):
    prepare_tiny(tiny_dataset)
    path = raw_dir(tiny_dataset["root"]) / tiny_dataset["specs"][0].name
    before = path.stat().st_mtime_ns
    reports = prepare_tiny(tiny_dataset)
    assert [r.action for r in reports] == ["verified", "verified"]
    assert path.stat().st_mtime_ns == before


def test_corrupted_byte_is_reported_and_replaced(tiny_dataset):
    prepare_tiny(tiny_dataset)
    spec = tiny_dataset["specs"][0]
    path = raw_dir(tiny_dataset["root"]) / spec.name
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert verify_file(path, spec) == "SHA-256 mismatch (corrupted)"
    reports = prepare_tiny(tiny_dataset)
    assert reports[0].action == "prepared"
    assert "SHA-256 mismatch" in reports[0].problems[0] and "replacing" in reports[0].problems[0]
    assert verify_file(path, spec) is None


def test_deleted_byte_is_reported_as_truncated(tiny_dataset):
    prepare_tiny(tiny_dataset)
    spec = tiny_dataset["specs"][0]
    path = raw_dir(tiny_dataset["root"]) / spec.name
    path.write_bytes(path.read_bytes()[:-1])
    assert "expected" in verify_file(path, spec)
    assert fashion_mnist_status(tiny_dataset["root"], tiny_dataset["specs"])[spec.name].startswith(
        f"{spec.nbytes - 1:,} bytes")
    prepare_tiny(tiny_dataset)
    assert verify_file(path, spec) is None


def test_truncated_gz_is_rejected_and_nothing_is_left(tiny_dataset):
    spec = tiny_dataset["specs"][0]
    gz = tiny_dataset["gz_dir"] / f"{spec.name}.gz"
    gz.write_bytes(tiny_dataset["gz"][spec.name][:-20])
    with pytest.raises(DataUnavailableError) as err:
        prepare_tiny(tiny_dataset)
    assert "not a complete gzip file" in str(err.value)
    target = raw_dir(tiny_dataset["root"])
    assert not (target / spec.name).exists()
    assert leftovers(tiny_dataset["root"]) == []


def test_missing_source_names_three_ways(tiny_dataset, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataUnavailableError) as err:
        prepare_tiny(tiny_dataset, local_dirs=[empty])
    msg = str(err.value)
    assert "tiny-images-idx3-ubyte" in msg and "not found" in msg
    for way in ("copy the four decompressed IDX files", "apt-get install dataset-fashion-mnist",
                "download from torchvision's mirrors"):
        assert way in msg
    assert "switched off" in msg


def test_download_from_local_http_server(tiny_dataset, http_server, tmp_path):
    for spec in tiny_dataset["specs"]:
        http_server["routes"][f"/mirror/{spec.name}.gz"] = tiny_dataset["gz"][spec.name]
    reports = prepare_tiny(tiny_dataset, local_dirs=[], download=True, mirrors=[http_server["url"] + "/mirror/"])
    assert [r.action for r in reports] == ["prepared", "prepared"]
    assert all(r.source.startswith("http://127.0.0.1:") for r in reports)
    assert len(http_server["hits"]) == 2


def test_corrupt_download_is_refused_and_next_mirror_used(tiny_dataset, http_server):
    spec = tiny_dataset["specs"][0]
    good = tiny_dataset["gz"][spec.name]
    bad = bytearray(tiny_dataset["raw"][spec.name])
    bad[50] ^= 0x01
    http_server["routes"][f"/bad/{spec.name}.gz"] = gzip.compress(bytes(bad))
    http_server["routes"][f"/good/{spec.name}.gz"] = good
    url = http_server["url"]
    reports = prepare_fashion_mnist(tiny_dataset["root"], files=(spec,), local_dirs=[], download=True,
                                    mirrors=[url + "/bad/", url + "/good/"])
    assert reports[0].source == f"{url}/good/{spec.name}.gz"
    assert "SHA-256" in reports[0].problems[0]
    assert leftovers(tiny_dataset["root"]) == []


def test_only_corrupt_download_raises(tiny_dataset, http_server):
    spec = tiny_dataset["specs"][1]
    http_server["routes"][f"/m/{spec.name}.gz"] = b"this is not gzip"
    with pytest.raises(DataUnavailableError) as err:
        prepare_fashion_mnist(tiny_dataset["root"], files=(spec,), local_dirs=[], download=True,
                              mirrors=[http_server["url"] + "/m/"])
    assert "not a complete gzip file" in str(err.value)
    assert not (raw_dir(tiny_dataset["root"]) / spec.name).exists()


def test_unreachable_mirror_is_a_clear_error(tiny_dataset, http_server):
    spec = tiny_dataset["specs"][1]
    with pytest.raises(DataUnavailableError) as err:  # the server answers 404
        prepare_fashion_mnist(tiny_dataset["root"], files=(spec,), local_dirs=[], download=True,
                              mirrors=[http_server["url"] + "/nothing/"])
    assert "404" in str(err.value)


def test_read_idx_rejects_non_idx(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        read_idx(p)


# --- the real Fashion-MNIST (prepared by `make data` before the tests run) ---

def test_real_files_verify():
    assert fashion_mnist_status() == {s.name: None for s in FASHION_MNIST_FILES}


def test_load_fashion_mnist_shapes_counts_and_first_labels():
    x, y = load_fashion_mnist(train=True, download=False)
    assert x.shape == (60000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (60000,) and y.dtype == torch.int64
    assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert torch.bincount(y).tolist() == [6000] * 10
    xt, yt = load_fashion_mnist(train=False, download=False)
    assert xt.shape == (10000, 28, 28) and torch.bincount(yt).tolist() == [1000] * 10
    assert len(CLASS_NAMES) == 10 and CLASS_NAMES[9] == "Ankle boot"


def test_torchvision_reads_the_prepared_folder():
    from torchvision.datasets import FashionMNIST
    ds = FashionMNIST(root=str(data.data_root()), train=False, download=False)
    x, y = load_fashion_mnist(train=False, download=False)
    assert torch.equal(ds.data, x) and torch.equal(ds.targets, y)
    assert list(ds.classes) == list(CLASS_NAMES)


def test_real_corrupt_copy_is_replaced_from_a_verified_copy(tmp_path):
    spec = FASHION_MNIST_FILES[3]  # test labels: small
    target = raw_dir(tmp_path)
    target.mkdir(parents=True)
    blob = bytearray((raw_dir() / spec.name).read_bytes())
    del blob[-1]
    (target / spec.name).write_bytes(bytes(blob))
    reports = prepare_fashion_mnist(tmp_path, files=(spec,), local_dirs=[raw_dir()], download=False)
    assert reports[0].action == "prepared" and "truncated" in reports[0].problems[0]
    assert verify_file(target / spec.name, spec) is None


def test_cli_data_reports_and_restores(tmp_path, monkeypatch, capsys, caplog):
    from course_utils.__main__ import main
    monkeypatch.setattr(data, "DEBIAN_DIR", raw_dir())  # a verified local copy stands in for the package
    spec = FASHION_MNIST_FILES[1]
    assert main(["data", "--root", str(tmp_path), "--no-download"]) == 0
    path = raw_dir(tmp_path) / spec.name
    path.write_bytes(path.read_bytes()[1:])  # delete one byte
    assert main(["data", "--root", str(tmp_path), "--no-download"]) == 0
    out = capsys.readouterr().out
    assert f"{spec.name}    prepared" in out
    assert any("truncated" in r.getMessage() for r in caplog.records)
    assert verify_file(path, spec) is None


def test_cli_data_without_any_source_fails_clearly(tmp_path, monkeypatch, capsys):
    from course_utils.__main__ import main
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-such-folder")
    assert main(["data", "--root", str(tmp_path), "--no-download"]) == 1
    err = capsys.readouterr().err
    assert "Get the data in one of three ways" in err
