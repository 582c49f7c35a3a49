"""Structural sensitivity (trustsim structural): which conclusions survive every rule.

What a researcher reads: a sentence saying how many clear conclusions keep their
direction under every alternative rule, and which break where. The test recomputes
that from structural.csv, checks each variant really ran with its rule, and that a
rule's variant differs from the defaults where the rule matters.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments import pipeline
from sim.experiments.experiment_file import load_experiment
from sim.experiments.structural import variants
from sim.methods.structural import BASELINE, survival, survival_sentences, verdict
from tests.helpers_cli import in_process


def rows(*values: tuple[str, float, float]) -> pd.DataFrame:
    """Paired rows for pairs (x, ref) per outcome: (outcome, mean_diff, p_holm)."""
    return pd.DataFrame(
        [
            {"a": "x", "b": "ref", "outcome": o, "mean_diff": d, "ci_low": d - 0.1,
             "ci_high": d + 0.1, "p_holm": p}
            for o, d, p in values
        ]
    )  # fmt: skip


def test_verdicts_and_survival_on_a_known_table() -> None:
    assert verdict(0.2, 0.01) == "higher"
    assert verdict(-0.2, 0.01) == "lower"
    assert verdict(0.2, 0.05) == "unclear"
    assert verdict(float("nan"), float("nan")) == "unclear"
    pairs = {
        BASELINE: rows(("skill", 0.3, 0.001), ("trust", -0.2, 0.001), ("gini", 0.1, 0.5)),
        "r1": rows(("skill", 0.2, 0.01), ("trust", 0.3, 0.001), ("gini", 0.1, 0.01)),
        "r2": rows(("skill", 0.1, 0.02), ("trust", -0.1, 0.3), ("gini", 0.0, 0.9)),
    }
    table = survival(pairs)
    assert table["survives"].tolist() == [True, False, False]
    assert table["breaks_under"].tolist() == ["", "r1 (higher), r2 (unclear)", "r1 (higher)"]
    lines = survival_sentences(table, {"r1": "rule one", "r2": "rule two"})
    assert lines[0].startswith("At the defaults, 2 of 3 comparisons show a clear difference")
    assert (
        "1 of those 2 keep their direction under every alternative rule (rule one, rule two)"
        in lines[0]
    )
    assert lines[1] == (
        "x - ref in trust: lower at the defaults (-0.200), but not under rule one "
        "(higher, +0.300); rule two (unclear, -0.100)."
    )


def test_variants_that_compare_other_pairs_are_refused() -> None:
    other = rows(("skill", 0.3, 0.001)).assign(b="someone")
    with pytest.raises(ValueError, match="compares other pairs"):
        survival({BASELINE: rows(("skill", 0.3, 0.001)), "r": other})
    with pytest.raises(ValueError, match="defaults"):
        survival({"r": other})


def test_the_variants_are_each_other_value_of_each_rule(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text('scenarios = ["peer_led", "no_coaching"]\nreplications = 2\n')
    names = [n for n, _ in variants(load_experiment(path))]
    assert names == [
        BASELINE,
        "trust_rule=beta",
        "choice_rule=best",
        "voice_rule=general",
        "success_rule=weakest",
    ]
    # scenarios that differ in a rule ask about it: that rule is not varied
    path.write_text(
        'scenarios = ["peer_led", "no_coaching"]\nreplications = 2\n'
        '[parameters]\ntrust_rule = "beta"\n'
    )
    names = [n for n, _ in variants(load_experiment(path))]
    assert "trust_rule=asymmetric" in names
    assert "trust_rule=beta" not in names


def test_structural_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = tmp_path / "e.toml"
    exp.write_text(
        'scenarios = ["top_down_internal", "peer_led", "no_coaching"]\n'
        'reference = "top_down_internal"\nreplications = 8\nseed = 4\nsteps = 30\n'
        'outcomes = ["mean_skill", "within_team_trust"]\n'
    )
    out = tmp_path / "out"
    code, stdout, stderr = in_process(capsys, "structural", str(exp), "--out", str(out),
                                      "--workers", "1")  # fmt: skip
    assert code == 0, stderr
    table = pd.read_csv(out / "structural.csv", keep_default_na=False)
    assert len(table) == 4  # two pairs x two outcomes
    # each variant's runs were made with its rule
    for name, (rule, value) in {
        "trust_rule-beta": ("trust_rule", "beta"),
        "voice_rule-general": ("voice_rule", "general"),
    }.items():
        with sqlite3.connect(out / "variants" / name / "results.sqlite") as db:
            used = {r[0] for r in db.execute(f'select "{rule}" from runs')}
            n = db.execute("select count(*) from runs where status = 'done'").fetchone()[0]
        assert used == {value}, name
        assert n == 3 * 8, name
    # a rule that changes the dynamics changes the differences
    assert (table[f"{BASELINE}_diff"] != table["success_rule=weakest_diff"]).all()
    # the first sentence against the table
    clear = table[table[f"{BASELINE}_verdict"] != "unclear"]
    first = stdout.splitlines()[0]
    m = re.match(r"At the defaults, (\d+) of (\d+) comparisons.*?; (\d+) of those (\d+)", first)
    assert m is not None, first
    assert [int(g) for g in m.groups()] == [
        len(clear),
        len(table),
        int(clear["survives"].astype(str).eq("True").sum()),
        len(clear),
    ]
    md = (out / "structural.md").read_text()
    assert "## mean_skill" in md
    assert "the Beta trust rule" in md
    # a rerun runs nothing again and says the same
    code, again, _ = in_process(capsys, "structural", str(exp), "--out", str(out), "--workers", "1")
    assert code == 0
    assert again.splitlines()[0] == first


def test_structural_refuses_a_sweep_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = tmp_path / "e.toml"
    exp.write_text('scenarios = ["peer_led"]\n[sweep]\nparameters = { levels = [1, 2] }\n')
    code, _, stderr = in_process(capsys, "structural", str(exp))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert "[sweep]" in stderr
    assert "Traceback" not in stderr


def test_pipeline_structural_returns_the_table(tmp_path: Path) -> None:
    exp = tmp_path / "e.toml"
    exp.write_text('scenarios = ["peer_led", "no_coaching"]\nreplications = 3\nsteps = 8\n'
                   'outcomes = ["mean_skill"]\n')  # fmt: skip
    said: list[str] = []
    result = pipeline.structural(
        exp, out=tmp_path / "o", workers=1, echo=lambda m: said.append(str(m))
    )
    assert said[0] == result.lines[0]
    assert set(result.table.columns) >= {"a", "b", "outcome", "survives", "breaks_under"}


def test_pairs_without_a_value_are_counted_apart() -> None:
    nan = float("nan")
    pairs = {
        BASELINE: rows(("skill", 0.3, 0.001), ("coach", nan, nan)),
        "r1": rows(("skill", 0.2, 0.01), ("coach", nan, nan)),
    }
    table = survival(pairs)
    first = survival_sentences(table)[0]
    assert first.startswith(
        "At the defaults, 1 of 1 comparisons (1 more have no value in a scenario of the pair)"
    )
