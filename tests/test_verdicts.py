"""The grader's side of a verdict, without a kernel: seeds from the secret, untrusted probe data, the
source scan for banned calls, results that serialise themselves."""
from __future__ import annotations

import json
import os
import stat

import pytest

from course_utils import checks
from course_utils.checks.core import AUTOGRAD, Ban, from_json, judge_data, scan, to_json, Malformed
from course_utils.outcome import FAILED, NOT_ATTEMPTED, PASSED, STATUSES, CheckResult
from course_utils.tools import grading

CONV = Ban("torch.nn.functional", names=("torch.nn.functional", "torch.conv2d"))


def test_a_seed_depends_on_secret_content_and_exercise_and_nothing_else():
    s = grading.seed_for(b"k", b"notebook", "4.3")
    assert s == grading.seed_for(b"k", b"notebook", "4.3") and 0 <= s < 2**63
    assert len({s, grading.seed_for(b"other", b"notebook", "4.3"), grading.seed_for(b"k", b"notebook!", "4.3"),
                grading.seed_for(b"k", b"notebook", "4.4")}) == 4


def test_the_secret_comes_from_the_variable_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_GRADING_SECRET", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    first = grading.grading_secret()
    path = tmp_path / "course-utils" / "grading-secret"
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    assert grading.grading_secret() == first, "made once, then read"
    monkeypatch.setenv("COURSE_GRADING_SECRET", "shared by the shards")
    assert grading.grading_secret() == b"shared by the shards"
    assert grading.secret_id(first) != grading.secret_id(b"shared by the shards")
    assert first.decode() not in grading.secret_id(first)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", json.dumps({"call": {"value": {"array": [1, 2], "shape": [3]}}}),
                                  json.dumps({"call": {"unknown": 1}}), json.dumps({"call": {"value": {"eval": "x"}}}),
                                  json.dumps({}), "x" * (9 * 2**20)])
def test_probe_data_that_does_not_read_is_a_failure_never_a_pass(text):
    check = checks.all_checks()["6.2"]
    result = judge_data(check, text, 0)
    assert result.status == FAILED, result


def test_the_data_of_a_stub_is_not_attempted_and_a_crash_says_where():
    check = checks.all_checks()["6.2"]
    assert judge_data(check, '{"call": {"not_attempted": true}}', 0).status == NOT_ATTEMPTED
    result = judge_data(check, '{"call": {"raised": "ValueError: bad (line 3 of its cell)"}}', 0)
    assert result.status == FAILED and result.message == "Your code raised ValueError: bad (line 3 of its cell)"


def test_json_is_the_only_way_in():
    assert from_json(to_json({"a": [1.5, float("inf")]})) == {"a": [1.5, float("inf")]}
    with pytest.raises(Malformed):
        from_json(b"\x80\x04\x95")  # a pickle is not read


@pytest.mark.parametrize("source, found", [
    ("def f(x, w):\n    return F.conv2d(x, w)", "torch.nn.functional.conv2d"),
    ("def f(x, w):\n    import torch.nn.functional as G\n    return G.unfold(x, 2)", "torch.nn.functional.unfold"),
    ("from torch.nn.functional import conv2d as c\ndef f(x, w):\n    return c(x, w)", "torch.nn.functional.conv2d"),
    ("def f(x, w):\n    return torch.nn.functional.conv2d(x, w)", "torch.nn.functional.conv2d"),
    ("import torch as t\ndef f(x, w):\n    return t.conv2d(x, w)", "torch.conv2d"),
    ("def f(x, w):\n    return np.einsum('nchw,fchw->nf', x, w)", None),
    ("%time x = 1\ndef f(x):\n    return F.conv2d(x, x)", "torch.nn.functional.conv2d"),
])
def test_the_scan_finds_a_banned_call_however_it_is_spelled(source, found):
    assert scan(source, CONV) == found


def test_the_scan_refuses_a_method_call_not_a_definition_of_the_same_name():
    assert scan("class Layer:\n    def backward(self, g):\n        return g @ self.W.T", AUTOGRAD) is None
    assert scan("def f(loss):\n    loss.backward()\n    return 1", AUTOGRAD) == "Tensor.backward"
    assert scan("def f(x):\n    return torch.autograd.grad(x, x)", AUTOGRAD) == "torch.autograd.grad"


def test_a_banned_call_in_the_source_fails_whatever_the_data_says():
    check = checks.all_checks()["6.2"]
    banned = Ban("np.bincount", names=("numpy.bincount",))
    forged = checks.Check(check.exercise, check.probe, check.judge, banned)
    result = judge_data(forged, '{"call": {"value": 0}}', 0, sources=["def f(p, l, n):\n    return np.bincount(p)"])
    assert result.status == FAILED and "without np.bincount (your code called numpy.bincount)" in result.message


def test_results_serialise_themselves_with_three_statuses():
    assert STATUSES == (PASSED, FAILED, NOT_ATTEMPTED)
    r = CheckResult("2.1", FAILED, "the slope")
    assert CheckResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    with pytest.raises(ValueError):
        CheckResult("2.1", "ignored")
    with pytest.raises(ValueError):
        CheckResult.from_dict({"exercise": "2.1"})
