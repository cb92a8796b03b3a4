"""`genreg reproduce` (issue 14, point 3): the plan is registered data and resolves for every
budget; a tiny section runs end to end into a Markdown report; a second invocation reuses
finished runs; a killed or interrupted run continues where it stopped."""

import copy
import json
import os
import re
import signal

import pytest

import genreg
from genreg.errors import EntryError, UnknownEntryError, UsageError
from genreg.reproduce import Interrupted, make_plan, reproduce
from genreg.reproduce.plan import BUDGETS

from test_cli import genreg as run_cli

_TINY_TRAIN = {"train.batch_size": 8, "train.checkpoint_every": 1, "train.sample_every": 0, "train.log_every": 1}

TINY = {
    "title": "Tiny study",
    "order": 1,
    "intro": "A denoiser and a point GAN, a few steps each.",
    "runs": {
        "dae": {"model": "dae1d", "overrides": {"data.n": 32, "model.channels": [4, 4, 4, 4], **_TINY_TRAIN},
                "budgets": {"smoke": {"train.steps": 3}}},
        "gan": {"model": "mlp-gan", "overrides": {"data": "ring8", "data.n": 64, "model.hidden": 8, "model.depth": 1,
                                                  "model.n_critic": 1, **_TINY_TRAIN},
                "budgets": {"smoke": {"train.steps": 3}}},
    },
    "evals": {"dae": {"run": "dae", "n": 16}, "dae-low-snr": {"run": "dae", "n": 16, "data": {"snr": [2, 3]}},
              "gan": {"run": "gan", "n": 128}},
    "tables": [
        {"title": "denoiser", "columns": [{"header": "accuracy", "key": "accuracy", "format": "pct"},
                                          {"header": "noisy input", "key": "accuracy_baseline", "format": "pct"},
                                          {"header": "missing", "key": "no_such_key"}],
         "rows": [{"label": "SNR 2-8", "eval": "dae"},
                  {"label": "SNR 2-3", "eval": "dae-low-snr",
                   "targets": [{"key": "accuracy", "minus": "accuracy_baseline", "op": ">", "value": 0.0,
                                "text": "beats the noisy input"}]}]},
        {"columns": [{"header": "modes", "key": ["modes_covered", "num_modes"], "format": "{}/{}"}],
         "rows": [{"label": "tiny GAN", "eval": "gan",
                   "targets": [{"key": "modes_covered", "op": ">=", "value": 8, "text": "8/8 modes"}]}]},
    ],
    "figures": [{"eval": "dae", "figure": "examples", "caption": "traces"},
                {"eval": "gan", "figure": "samples", "caption": "points"}],
}
NEEDS_MISSING = {"title": "Needs a model nobody registered", "requires": {"model": ["no-such-model"]},
                 "runs": {"x": {"model": "no-such-model"}}}


class SectionPlugin:
    def __init__(self, tiny=TINY):
        self.tiny = tiny

    @genreg.hookimpl
    def genreg_register_sections(self, register):
        register("tiny", self.tiny, summary="a tiny section")
        register("needs-missing", NEEDS_MISSING)
        register("bad-eval", {"runs": {"a": {"model": "dae1d"}}, "figures": [{"eval": "b", "figure": "x"}]})


@pytest.fixture
def sections():
    manager = genreg.get_plugin_manager()
    record = manager.register(SectionPlugin(), name="sections-test", version="1.0")
    assert record.error is None
    try:
        yield record
    finally:
        manager.unregister("sections-test")


def _figure_links(text):
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


def test_the_study_plan_resolves_for_every_budget(tmp_path):
    names = {e.name for e in genreg.list_entries(kind="section") if e.plugin_id == "genreg.study"}
    assert {"denoising", "vae", "mode-collapse", "acgan", "wgan-galaxies", "mae"} <= names
    have_mae = ("model", "mae1d") in genreg.get_registry() and ("model", "mae") in genreg.get_registry()
    for budget in (*BUDGETS, "smoke"):
        plan = {s.name: s for s in make_plan(budget, tmp_path, only=sorted(names))}
        assert set(plan) == names
        assert bool(plan["mae"].skipped) is not have_mae
        for section in plan.values():
            if section.skipped:
                continue
            assert section.runs and section.evals
            for run in section.runs:
                assert run.command.startswith(f"genreg train {run.model}") and f"--out {tmp_path}" in run.command
                assert run.steps >= 1
                assert run.device == ("auto" if budget == "full" else "cpu")
                if budget == "quick":  # shorter than the recipe targets, by a time limit
                    assert any(o.startswith("train.max_minutes=") for o in run.overrides), run.command
            for ev in section.evals.values():
                assert ev.command.startswith(f"genreg eval {ev.run.run_dir}")
    denoising = {ev.id: ev for ev in make_plan("quick", tmp_path, ["denoising"])[0].evals.values()}
    assert denoising["realistic-snr2-3"].data == ["snr=2,3"]
    assert "data.noise=uniform" in denoising["uniform"].run.command


def test_bad_budgets_sections_and_section_data_are_one_line_errors(tmp_path, sections):
    with pytest.raises(UsageError, match="unknown budget 'huge'; budgets are: quick, standard, full"):
        make_plan("huge", tmp_path)
    with pytest.raises(UnknownEntryError, match="unknown section 'tinny'"):
        make_plan("smoke", tmp_path, ["tinny"])
    with pytest.raises(EntryError, match=r"section 'bad-eval' \(plugin 'sections-test' 1.0\): figure 'x' names "
                                         "unknown eval 'b'"):
        make_plan("smoke", tmp_path, ["bad-eval"])
    skipped = make_plan("smoke", tmp_path, ["needs-missing"])
    assert skipped[0].skipped == "model(s) no-such-model not registered" and not skipped[0].runs


def test_the_cli_plans_and_rejects_a_bad_budget(tmp_path):
    out = run_cli("reproduce", "--budget", "standard", "--only", "mode-collapse", "--plan", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "genreg train wgan-gp --preset wgan-gp-ring8" in out.stdout and "train.max_minutes=3" in out.stdout
    bad = run_cli("reproduce", "--budget", "huge", "--out", str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "genreg: error: unknown budget 'huge'; budgets are: quick, standard, full"]


def _run(tmp_path, **kw):
    lines = []
    report = reproduce("smoke", tmp_path / "out", ["tiny", "needs-missing"], log=lines.append, **kw)
    return report, lines


def test_a_tiny_section_runs_end_to_end_and_a_second_invocation_reuses_it(tmp_path, sections):
    report, lines = _run(tmp_path)
    text = report.read_text()
    out = tmp_path / "out"
    links = _figure_links(text)
    assert len(links) == 2 and all((out / link).is_file() for link in links)
    assert "genreg train dae1d data.n=32" in text and "genreg train mlp-gan data=ring8" in text
    assert "genreg eval " in text and "--data snr=2,3" in text
    assert "torch " + __import__("torch").__version__ in text  # the machine
    assert "## Skipped sections" in text and "`needs-missing`" in text and "no-such-model not registered" in text
    gan = json.loads((out / "runs/tiny/gan/eval/eval.json").read_text())
    verdict = "**met**" if gan["modes_covered"] >= 8 else "**not met**"
    assert f"| tiny GAN | {gan['modes_covered']}/{gan['num_modes']} | 8/8 modes: {verdict} |" in text
    low = json.loads((out / "runs/tiny/dae/eval-dae-low-snr/eval.json").read_text())
    assert f"{100 * low['accuracy']:.1f} %" in text and "| n/a |" in text
    assert sum("training:" in line for line in lines) == 2 and sum("evaluating:" in line for line in lines) == 3

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json") if p.name in ("summary.json", "eval.json")}
    assert len(stamps) == 5
    _, again = _run(tmp_path)
    assert not any("training:" in line or "evaluating:" in line or "resuming" in line for line in again), again
    assert sum("reusing" in line for line in again) == 5
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing trained or evaluated again


@pytest.mark.parametrize("how", ["killed", "sigterm", "killed-before-a-checkpoint"])
def test_a_stopped_run_continues_where_it_stopped(tmp_path, sections, monkeypatch, how):
    from genreg.training import loop

    original = loop.train
    calls = []

    def stop_early(*args, **kwargs):
        calls.append(kwargs.get("resume"))

        def on_checkpoint(run, step, path):
            if step == 2 and len(calls) == 1:
                if how == "killed":  # the process dies: no summary.json
                    raise RuntimeError("simulated kill")
                os.kill(os.getpid(), signal.SIGTERM)  # the loop stops after this step, summary says so

        def on_step_end(run, step, metrics):
            if step == 1 and len(calls) == 1:
                raise RuntimeError("simulated kill before the first checkpoint")

        hooks = {"step_end": on_step_end} if how == "killed-before-a-checkpoint" else {"checkpoint": on_checkpoint}
        return original(*args, callbacks=hooks, **kwargs)

    monkeypatch.setattr(loop, "train", stop_early)
    with pytest.raises(Interrupted if how == "sigterm" else RuntimeError):
        _run(tmp_path)
    run_dir = tmp_path / "out/runs/tiny/dae"
    summary = run_dir / "summary.json"
    assert not summary.exists() if how != "sigterm" else json.loads(summary.read_text())["interrupted"] == "SIGTERM"
    assert (tmp_path / "out/report.md").is_file()  # the report so far
    report, lines = _run(tmp_path)
    if how == "killed-before-a-checkpoint":  # nothing to resume from: trained afresh, in the same place
        assert any(line.startswith("tiny/dae: training:") for line in lines) and calls[1] is None
    else:
        assert any(line.startswith("tiny/dae: resuming") for line in lines), lines
        assert calls[1] == run_dir  # resumed from its own directory, not restarted
    assert json.loads(summary.read_text())["step"] == 3
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]  # one history: kept steps are not retrained, a restart leaves no stale lines
    assert len(_figure_links(report.read_text())) == 2


def test_a_changed_plan_retrains_and_foreign_directories_are_left_alone(tmp_path, sections):
    _run(tmp_path)
    changed = copy.deepcopy(TINY)
    changed["runs"]["gan"]["budgets"]["smoke"] = {"train.steps": 4}
    manager = genreg.get_plugin_manager()
    manager.unregister("sections-test")
    manager.register(SectionPlugin(changed), name="sections-test", version="1.1")
    _, lines = _run(tmp_path)
    assert any(line.startswith("tiny/gan: the plan changed") for line in lines)
    assert any(line.startswith("tiny/dae: reusing") for line in lines)
    assert json.loads((tmp_path / "out/runs/tiny/gan/summary.json").read_text())["step"] == 4
    foreign = tmp_path / "other/runs/tiny/dae"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="was not made by genreg reproduce"):
        reproduce("smoke", tmp_path / "other", ["tiny"], log=lambda _: None)
    assert (foreign / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_the_quick_budget_reproduces_the_whole_study(tmp_path):
    report = reproduce("quick", tmp_path, log=print)
    text = report.read_text()
    plan = make_plan("quick", tmp_path)
    for section in plan:
        if section.skipped:
            assert f"`{section.name}`" in text.split("## Skipped sections")[1]
            continue
        for ev in section.evals.values():
            assert (ev.out / "eval.json").is_file()
            assert ev.command in text
    links = _figure_links(text)
    assert len(links) >= 15 and all((tmp_path / link).is_file() for link in links)
    assert "**met**" in text or "**not met**" in text
