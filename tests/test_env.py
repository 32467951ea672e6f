"""course_utils.env: requirement checks, the report, the CLI exit code, device choice."""
import torch
from packaging.requirements import Requirement

from course_utils import env


def fake_versions(**versions):
    def version_of(name):
        return versions.get(name, "99.0")
    return version_of


REQS = [(Requirement("numpy>=1.24,<3"), False), (Requirement("torch>=2.2,<3"), False),
        (Requirement("nbval>=0.11"), True)]


def test_requirements_come_from_pyproject():
    reqs = {r.name: optional for r, optional in env.requirements()}
    for name in ("torch", "torchvision", "numpy", "matplotlib", "scikit-learn", "tensorboard"):
        assert reqs[name] is False, name  # what a notebook imports: required
    for name in ("jupyterlab", "ipykernel", "nbclient", "nbformat", "nbval", "pytest"):
        assert reqs[name] is True, name  # extras: a hosted Jupyter brings its own kernel and front end
    assert "course-utils" not in reqs, "an extra naming another extra of the course is not a package to check"
    assert env.environment_report(check_data=False).format().count("course-utils") == 0


def test_all_present_is_ok():
    statuses = env.check_packages(REQS, fake_versions(numpy="2.0.1", torch="2.5.1", nbval="0.11.0"))
    assert all(s.ok for s in statuses)


def test_missing_package_is_reported_with_hints():
    statuses = env.check_packages(REQS, lambda name: None if name == "torch" else "2.0")
    report = env.EnvironmentReport("3.11", "test", statuses, env.DeviceInfo("cpu", "test"))
    assert not report.ok and [p.name for p in report.missing] == ["torch"]
    text = report.format()
    assert "✗ torch: not installed" in text
    assert 'pip install "torch>=2.2,<3"' in text
    assert 'conda install -c conda-forge "pytorch>=2.2,<3"' in text
    assert "1 requirement(s) missing: torch" in text


def test_too_old_version_is_reported():
    statuses = env.check_packages(REQS, fake_versions(numpy="1.19.5", torch="2.5.1", nbval="0.11.0"))
    numpy = statuses[0]
    assert not numpy.ok
    text = env.EnvironmentReport("3.11", "test", statuses, env.DeviceInfo("cpu", "x")).format()
    assert "✗ numpy: 1.19.5 is outside >=1.24,<3" in text


def test_missing_dev_package_does_not_fail_the_report():
    statuses = env.check_packages(REQS, lambda name: None if name == "nbval" else "2.5")
    report = env.EnvironmentReport("3.11", "test", statuses, env.DeviceInfo("cpu", "x"))
    assert report.ok and "✗ nbval (optional): not installed" in report.format()


def test_cli_exit_code_follows_the_report(monkeypatch, capsys):
    from course_utils.__main__ import main
    assert main(["env"]) == 0
    assert "All requirements met." in capsys.readouterr().out
    monkeypatch.setattr(env, "_installed_version", lambda name: "0.1" if name == "numpy" else env.md.version(name))
    assert main(["env"]) == 1
    out = capsys.readouterr().out
    assert "✗ numpy: 0.1 is outside" in out and "requirement(s) missing: numpy" in out


def test_report_says_whether_data_is_verified(monkeypatch, tmp_path):
    report = env.environment_report()
    assert report.data_ok and "Fashion-MNIST: present and verified" in report.format()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    report = env.environment_report()
    assert not report.data_ok and "run `make data`" in report.format()


def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert env.pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert env.pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Fake GPU")
    info = env.device_info()
    assert info.kind == "cuda" and "Fake GPU" in info.detail
    assert env.pick_device() == torch.device("cuda")
