"""Comparisons across plausible worlds (`trustsim compare RESULTS --across SOURCE`).

A small sweep (top_down_internal against peer_led, 12 members, 20 weeks) is the
results folder. Worlds drawn over a parameter that cannot change the dynamics (the
survey's measurement parameters) must give the one-point answer in every world, up to
run-to-run noise; worlds over one that matters (sponsorship_strength) must name it as
what decides the pair. Every sentence quotes the numbers of across_summary.csv, which
are recomputed here from across.csv.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from figure_checks import misfits
from helpers_cli import ROOT, in_process

from sim.experiments import pipeline, run
from sim.experiments.across import WorldSource, compare_across, load_source
from sim.experiments.expansion import spawn_seed
from sim.methods import across as stats
from sim.methods.analysis import signed
from sim.model.fast import simulate
from sim.model.scenario import preset

PAIR = """# Does a coach sponsored from the top teach more than peer-led coaching?
scenarios = ["top_down_internal", "peer_led"]
replications = 10
seed = 5
steps = 20
keep_steps = 0
outcomes = ["mean_skill", "within_team_trust"]
"""

PRIOR = """# Priors of a calibration (the worlds are drawn from them).
scenarios = ["top_down_internal"]
replications = 2

[calibration.parameters]
{parameters}
"""
# Parameters that only change what simulated surveys answer, never a run.
SURVEY_ONLY = "survey_loading = { min = 0.3, max = 0.95 }\nsurvey_bias = { min = -1.0, max = 1.0 }"
# One that matters for the pair, and one that does not.
SPONSOR = "sponsorship_strength = { min = 0.0, max = 1.0 }\nsurvey_bias = { min = -1.0, max = 1.0 }"


def prior_file(folder: Path, parameters: str, name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(PRIOR.format(parameters=parameters), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pair swept once, 10 replications of 20 weeks."""
    root = tmp_path_factory.mktemp("across")
    (root / "pair.toml").write_text(PAIR, encoding="utf-8")
    done = run(root / "pair.toml", out=root / "pair", workers=1, progress=False)
    assert done.done == 20
    prior_file(root, SURVEY_ONLY, "survey_only")
    prior_file(root, SPONSOR, "sponsor")
    return root / "pair"


def copy_of(results: Path, name: str) -> Path:
    """The results folder copied, without what comparisons across worlds added to it."""
    copy = results.parent / name
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("across*", "figures"))
    return copy


@pytest.fixture(scope="module")
def survey_only(results: Path) -> pipeline.CompareResult:
    """Worlds over the survey's parameters: 60 worlds of 4 pairs, through the pipeline."""
    prior = results.parent / "survey_only.toml"
    folder = copy_of(results, "survey_only")
    return pipeline.across(folder, prior, worlds=60, pairs=4, workers=1, progress=False)


@pytest.fixture(scope="module")
def sponsor(results: Path) -> pipeline.CompareResult:
    """Worlds over sponsorship_strength and survey_bias: 60 worlds of 4 pairs."""
    prior = results.parent / "sponsor.toml"
    folder = copy_of(results, "sponsor")
    return pipeline.across(folder, prior, worlds=60, pairs=4, workers=1, progress=False)


# 1. What the numbers say -------------------------------------------------------------------


def test_a_parameter_that_cannot_change_a_run_leaves_the_one_point_answer(
    survey_only: pipeline.CompareResult, results: Path
) -> None:
    found = survey_only.across
    assert found is not None
    table = found.table
    # Every world's runs are the runs at the scenarios' own values with that world's seeds.
    for world in (0, 17):
        row = table[(table["world"] == world) & (table["outcome"] == "mean_skill")].iloc[0]
        seeds = [spawn_seed(5, 4, 1, world, r) for r in range(4)]
        own = [
            simulate(preset(name).with_(steps=20), s).summary["mean_skill"]
            for name in ("top_down_internal", "peer_led")
            for s in seeds
        ]
        assert row["mean_diff"] == pytest.approx(np.mean(own[:4]) - np.mean(own[4:]), abs=1e-12)
    assert table["survey_bias"].nunique() == 60  # and yet the worlds differ
    for s in found.summary.to_dict("records"):
        noise_only = 2 * 1.645 * math.sqrt(s["noise_var"])  # a 90% interval of noise alone
        assert s["noise_share"] >= 0.6, s
        assert s["decides"] == "", s  # nothing decides it
        assert s["high90"] - s["low90"] <= 1.5 * noise_only, s
        assert s["low90"] <= s["one_point"] <= s["high90"], s
        assert abs(s["median"] - s["one_point"]) <= math.sqrt(s["noise_var"]), s


def test_a_parameter_that_matters_is_named_as_deciding_the_pair(
    sponsor: pipeline.CompareResult,
) -> None:
    found = sponsor.across
    assert found is not None
    for s in found.summary.to_dict("records"):
        assert s["decides"] == "sponsorship_strength", s
        assert s["s1_sponsorship_strength"] > s["s1_survey_bias"] + 0.2, s
        assert s["rho_sponsorship_strength"] > 0.5, s  # a stronger sponsor helps the top-down coach
        assert abs(s["rho_survey_bias"]) < 0.3, s
        # the sponsor's spread over worlds is wider than noise alone would make it
        assert s["var_means"] > 1.3 * s["noise_var"], s


def test_the_summary_is_what_the_per_world_table_gives(sponsor: pipeline.CompareResult) -> None:
    folder = sponsor.folder
    table = pd.read_csv(folder / "across.csv")
    summary = pd.read_csv(folder / "across_summary.csv", keep_default_na=False)
    assert list(table.columns) == [
        "a", "b", "outcome", "world", "sponsorship_strength", "survey_bias", "n", "mean_diff", "se"
    ]  # fmt: skip
    assert len(table) == 2 * 60
    assert (table["n"] == 4).all()
    for s in summary.to_dict("records"):
        d = table.loc[table["outcome"] == s["outcome"], "mean_diff"].to_numpy(float)
        se = table.loc[table["outcome"] == s["outcome"], "se"].to_numpy(float)
        sesoi = s["smallest_effect"]
        assert sesoi == 0.01  # the default on a 0-1 scale
        assert s["median"] == pytest.approx(np.median(d))
        assert (s["low90"], s["high90"]) == pytest.approx(tuple(np.quantile(d, [0.05, 0.95])))
        assert s["a_higher"] == pytest.approx(np.mean(d > sesoi))
        assert s["b_higher"] == pytest.approx(np.mean(d < -sesoi))
        assert s["a_higher"] + s["b_higher"] + s["undecided"] == pytest.approx(1)
        assert s["var_means"] == pytest.approx(d.var(ddof=1))
        assert s["noise_var"] == pytest.approx(np.mean(se**2))
        assert s["parameter_var"] == pytest.approx(max(d.var(ddof=1) - np.mean(se**2), 0))
        x = table.loc[table["outcome"] == s["outcome"], "sponsorship_strength"].to_numpy(float)
        from scipy.stats import spearmanr

        assert s["rho_sponsorship_strength"] == pytest.approx(spearmanr(x, d).statistic)
        assert s["s1_low_sponsorship_strength"] <= s["s1_sponsorship_strength"]
        assert s["s1_sponsorship_strength"] <= s["s1_high_sponsorship_strength"]


def test_first_order_is_salibs_delta_estimator() -> None:
    from SALib.analyze.delta import sobol_first

    rng = np.random.default_rng(3)
    for n in (10, 60, 200, 3000):
        x = rng.uniform(size=n)
        y = np.sin(6 * x) + rng.normal(0, 0.3, n)
        m = np.linspace(0, n, stats.classes(n) + 1)
        assert stats.first_order(x, y) == pytest.approx(sobol_first(y, x, m), rel=1e-12)
    # ties (an integer parameter, a posterior drawn with replacement) as SALib's ordinal ranks
    x = rng.integers(1, 5, 200).astype(float)
    y = x + rng.normal(0, 1, 200)
    m = np.linspace(0, 200, stats.classes(200) + 1)
    assert stats.first_order(x, y) == pytest.approx(sobol_first(y, x, m), rel=1e-12)
    assert stats.first_order(x, np.ones(200)) == 0.0


def test_the_noise_split_recovers_a_known_mixture() -> None:
    rng = np.random.default_rng(8)
    worlds = 20_000
    means = rng.normal(0, 1.0, worlds) + rng.normal(0, 0.5, worlds)  # parameters 1, noise 0.25
    split = stats.noise_split(means, np.full(worlds, 0.5))
    assert split["parameter_var"] == pytest.approx(1.0, rel=0.05)
    assert split["noise_share"] == pytest.approx(0.2, rel=0.05)
    flat = stats.noise_split(rng.normal(0, 0.5, 200), np.full(200, 0.5))
    assert flat["noise_share"] > 0.8
    assert flat["parameter_var"] <= 0.05


# 2. Sentences and figures ---------------------------------------------------------------------


def shares(sentence: str) -> dict[str, float]:
    """The numbers a sentence quotes, by what they are."""
    found = re.search(
        r"over (\d+) worlds .* median ([+-][\d.e-]+), 90% of worlds between ([+-][\d.e-]+) and "
        r"([+-][\d.e-]+) \(at the experiment's own values: ([+-][\d.e-]+)\)\. \S+ is higher by "
        r"more than ([\d.]+) in (\d+)% of worlds, \S+ in (\d+)%, and (\d+)% are within "
        r"\+/-([\d.]+) \(undecided\)\. Run-to-run noise makes (\d+)% of the spread over worlds "
        r"and the parameters (\d+)%",
        sentence,
    )
    assert found, sentence
    keys = [
        "worlds", "median", "low90", "high90", "one_point", "smallest_effect", "a_higher",
        "b_higher", "undecided", "smallest_again", "noise_share", "parameters",
    ]  # fmt: skip
    return dict(zip(keys, map(float, found.groups()), strict=True))


@pytest.mark.parametrize("which", ["survey_only", "sponsor"])
def test_every_sentence_quotes_the_summary_csv(which: str, request: pytest.FixtureRequest) -> None:
    result: pipeline.CompareResult = request.getfixturevalue(which)
    folder = result.folder
    summary = pd.read_csv(folder / "across_summary.csv", keep_default_na=False)
    md = (folder / "compare.md").read_text(encoding="utf-8")
    assert md.startswith("# pair: comparison")  # the comparison, then the section
    section = md[md.index("## Across plausible worlds") :]
    bullets = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(summary) == 2
    assert "Smallest effects of interest: mean_skill 0.01, within_team_trust 0.01." in section
    assert "60 worlds drawn from the priors of" in section
    for sentence, s in zip(bullets, summary.to_dict("records"), strict=True):
        assert sentence.startswith(f"{s['a']} vs {s['b']}, {s['outcome']}: ")
        q = shares(sentence)
        assert q["worlds"] == s["worlds"]
        for key in ("median", "low90", "high90", "one_point"):
            assert f"{q[key]:+.3f}" == signed(s[key]), key  # as printed: 3 decimals
            assert q[key] == pytest.approx(s[key], abs=0.0005), key
        assert q["smallest_effect"] == q["smallest_again"] == s["smallest_effect"]
        for key in ("a_higher", "b_higher", "undecided", "noise_share"):
            assert q[key] == pytest.approx(100 * s[key], abs=0.5), key
        assert q["parameters"] == pytest.approx(100 * (1 - s["noise_share"]), abs=0.5)
        if s["decides"]:
            p = s["decides"]
            quoted = re.search(
                rf"{p} \(S1 = ([\d.]+) \[([\d.]+), ([\d.]+)\], Spearman rho ([+-][\d.]+)\) "
                "decides most\\.$",
                sentence,
            )
            assert quoted, sentence
            s1, low, high, rho = map(float, quoted.groups())
            assert s1 == pytest.approx(s[f"s1_{p}"], abs=0.005)
            assert (low, high) == pytest.approx((s[f"s1_low_{p}"], s[f"s1_high_{p}"]), abs=0.005)
            assert rho == pytest.approx(s[f"rho_{p}"], abs=0.005)
        else:
            assert "; no parameter clearly decides it (largest: " in sentence, sentence
    assert result.text.endswith(section)  # what compare returned is what it wrote


def test_a_figure_per_outcome_marks_the_smallest_effect(sponsor: pipeline.CompareResult) -> None:
    import matplotlib.pyplot as plt
    from PIL import Image

    from sim.reporting import plots

    folder = sponsor.folder
    for outcome in ("mean_skill", "within_team_trust"):
        png = folder / "figures" / f"across_{outcome}.png"
        assert png in sponsor.written
        with Image.open(png) as im:
            assert im.size[0] >= 1000
    found = sponsor.across
    assert found is not None
    fig = plots.across_differences(found.table, found.summary, "mean_skill")
    ax = fig.axes[0]
    band = next(p for p in ax.patches if p.get_facecolor()[:3] != (1, 1, 1)).get_x()
    assert band == pytest.approx(-0.01)  # the shaded band is +/- the smallest effect
    assert len(ax.collections[0].get_offsets()) == 60  # a dot per world
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("+/-0.01" in t for t in texts)
    assert misfits(fig) == []
    plt.close(fig)


# 3. Worlds: where they come from, their seeds, resuming ----------------------------------------


def posterior_folder(root: Path, parameter: str = "sponsorship_strength") -> Path:
    """A calibration folder as `trustsim calibrate` leaves it: two generations of particles."""
    folder = root / "cal"
    folder.mkdir(exist_ok=True)
    rows = [
        {"generation": 0, "particle": k, "weight": 0.1, "distance": 2.0, parameter: 0.95,
         "stat_x": 0.3}
        for k in range(10)
    ] + [
        {"generation": 1, "particle": k, "weight": w, "distance": 1.0, parameter: v,
         "stat_x": 0.3}
        for k, (v, w) in enumerate([(0.1, 0.25), (0.5, 0.75), (0.9, 0.0)])
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "posterior.csv", index=False)
    (folder / "calibration.json").write_text("{}", encoding="utf-8")
    return folder


def test_worlds_are_drawn_from_the_last_generation_by_weight(tmp_path: Path) -> None:
    source = load_source(posterior_folder(tmp_path))
    assert source.kind == "posterior"
    assert source.parameters == ("sponsorship_strength",)
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (that it stays as it was)
    worlds = source.draw(400, seed=5)
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002 (never numpy's global state)
    counts = worlds["sponsorship_strength"].value_counts(normalize=True)
    assert set(counts.index) == {0.1, 0.5}  # not 0.95 (an earlier generation), not 0.9 (weight 0)
    assert counts[0.5] == pytest.approx(0.75, abs=0.06)
    # The same seed draws the same worlds, a longer draw begins with them; another seed differs.
    assert worlds.head(50).equals(source.draw(50, seed=5))
    assert not worlds.equals(source.draw(400, seed=6))


def test_prior_worlds_fill_their_ranges_and_integers_stay_integers(tmp_path: Path) -> None:
    path = prior_file(
        tmp_path,
        "coach_capacity = { min = 1, max = 8 }\n"
        'trust_gain = { min = 0.01, max = 0.3, scale = "log" }',
        "ints",
    )
    source = load_source(path)
    assert isinstance(source, WorldSource)
    worlds = source.draw(500, seed=1)
    assert set(worlds["coach_capacity"]) == set(range(1, 9))
    assert worlds["coach_capacity"].map(type).eq(int).all()
    gain = worlds["trust_gain"].to_numpy(float)
    assert gain.min() >= 0.01
    assert gain.max() <= 0.3
    # log-uniform: as many worlds below the geometric middle as above it
    assert np.mean(gain < math.sqrt(0.01 * 0.3)) == pytest.approx(0.5, abs=0.07)


def test_more_worlds_run_only_the_new_ones(results: Path, tmp_path: Path) -> None:
    folder = posterior_folder(tmp_path)
    first = compare_across(results, folder, worlds=3, pairs=2, workers=1, write=False)
    assert (first.ran, first.stored) == (3 * 2 * 2, 0)
    again = compare_across(results, folder, worlds=5, pairs=3, workers=1, write=False)
    assert (again.ran, again.stored) == (5 * 3 * 2 - 3 * 2 * 2, 3 * 2 * 2)
    assert again.store == first.store
    head = again.table[(again.table["world"] < 3)]
    assert len(head) == 2 * 3
    # A world's values and seeds do not depend on how many worlds there are.
    assert again.worlds.head(3).equals(first.worlds)


@pytest.mark.slow
def test_a_killed_comparison_runs_only_what_it_had_not_stored(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "pair"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("across*", "figures"))
    prior = results.parent / "sponsor.toml"
    args = ["compare", str(copy), "--across", str(prior), "--worlds", "100", "--pairs", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args, "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        for db_path in (copy / "across").glob("*/results.sqlite"):
            try:
                with sqlite3.connect(db_path, timeout=0.1) as db:
                    stored = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            except sqlite3.Error:
                stored = 0
        if stored >= 100:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 100 <= stored < 800, "killed before or after its runs"
    assert not (copy / "across.csv").exists()
    code, out, err = in_process(capsys, *args, "--workers", "1")
    assert code == 0, err
    kept = re.search(r"across: ([\d,]+) runs done in [\d.]+ s, ([\d,]+) already stored", out)
    assert kept, out
    ran, before = (int(g.replace(",", "")) for g in kept.groups())
    assert before >= stored
    assert ran + before == 800
    fresh = compare_across(
        results, prior, worlds=100, pairs=4, workers=1, write=False
    ).table  # the same comparison, run through in the fixture's folder
    resumed = pd.read_csv(copy / "across.csv")
    pd.testing.assert_frame_equal(resumed, fresh.reset_index(drop=True), check_dtype=False)


# 4. The command line: its output, and every bad input in one line ----------------------------


def test_the_command_line_prints_the_section_and_what_it_wrote(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = in_process(
        capsys, "compare", str(results), "--across", str(posterior_folder(tmp_path)),
        "--worlds", "4", "--pairs", "2", "--workers", "1", "--smallest-effect", "0.02",
        "--smallest-effect", "within_team_trust=0.03", "--outcome", "mean_skill",
        "--outcome", "within_team_trust",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("## Across plausible worlds")
    assert "Smallest effects of interest: mean_skill 0.02, within_team_trust 0.03." in out
    assert "(generation 1, 3 particles, drawn by weight)" in out
    assert "wrote compare_view.md, across.csv" in out  # a view: the experiment's files stay
    assert "## Across plausible worlds" in (results / "compare_view.md").read_text("utf-8")
    summary = pd.read_csv(results / "across_summary.csv")
    assert list(summary["smallest_effect"]) == [0.02, 0.03]


def bad(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run a compare that must fail: exit 2, one error line, no traceback."""
    code, out, err = in_process(capsys, "compare", *args)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def test_bad_input_is_one_line_and_writes_nothing(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    r = str(results)
    assert "no such file or folder" in bad(capsys, r, "--across", str(tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not a calibration folder" in bad(capsys, r, "--across", str(empty))
    (empty / "calibration.json").write_text("{}", encoding="utf-8")
    assert "has not finished" in bad(capsys, r, "--across", str(empty))
    cal = posterior_folder(tmp_path, parameter="trust_gian")
    line = bad(capsys, r, "--across", str(cal))
    assert "parameter 'trust_gian' of the posterior is not a parameter of the scenarios" in line
    assert 'did you mean "trust_gain"' in line
    no_section = tmp_path / "plain.toml"
    no_section.write_text(PAIR, encoding="utf-8")
    assert "has no [calibration] section" in bad(capsys, r, "--across", str(no_section))
    prior = str(results.parent / "sponsor.toml")
    assert "--worlds 0: must be 2 or more" in bad(capsys, r, "--across", prior, "--worlds", "0")
    assert "--pairs 1: must be 2 or more" in bad(capsys, r, "--across", prior, "--pairs", "1")
    assert "--smallest-effect 'big'" in bad(
        capsys, r, "--across", prior, "--smallest-effect", "big"
    )
    line = bad(capsys, r, "--across", prior, "--smallest-effect", "mean_skil=0.1")
    assert "'mean_skil' is not an outcome compared here" in line
    assert "--worlds goes with --across" in bad(capsys, r, "--worlds", "5")
    assert "one of them at a time" in bad(capsys, r, "--across", prior, "--targets", prior)
    assert "no results store here" in bad(capsys, str(tmp_path), "--across", prior)
    after = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    assert after == before


def test_results_the_worlds_cannot_be_applied_to_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two scenarios that differ in the very parameter the worlds would set.
    for name, gain in (("slow", 0.05), ("fast", 0.2)):
        (tmp_path / f"{name}.toml").write_text(
            f'# {name}\npreset = "peer_led"\nname = "{name}"\ntrust_gain = {gain}\n', "utf-8"
        )
    (tmp_path / "gains.toml").write_text(
        '# two gains\nscenarios = ["slow.toml", "fast.toml"]\nreplications = 2\nsteps = 4\n'
        'keep_steps = 0\noutcomes = ["mean_skill"]\n[sweep.parameters]\nmembers = [8, 12]\n',
        encoding="utf-8",
    )
    run(tmp_path / "gains.toml", out=tmp_path / "gains", workers=1, progress=False)
    prior = prior_file(tmp_path, "trust_gain = { min = 0.02, max = 0.3 }", "gain")
    line = bad(capsys, str(tmp_path / "gains"), "--across", str(prior))
    assert "swept over 2 points" in line
    text = (tmp_path / "gains.toml").read_text("utf-8").split("[sweep")[0]
    (tmp_path / "gains.toml").write_text(text, encoding="utf-8")
    run(tmp_path / "gains.toml", out=tmp_path / "unswept", workers=1, progress=False)
    line = bad(capsys, str(tmp_path / "unswept"), "--across", str(prior))
    assert "'trust_gain' differs between the scenarios (slow 0.05, fast 0.2)" in line
    assert not (tmp_path / "unswept" / "across").exists()


def test_two_scenarios_that_run_alike_are_said_to_run_alike() -> None:
    table = pd.DataFrame(
        {"a": "x", "b": "y", "outcome": "mean_skill", "world": range(5), "n": 3,
         "mean_diff": 0.0, "se": 0.0, "gain": np.linspace(0.1, 0.5, 5)}
    )  # fmt: skip
    summary = stats.summarize(table, ["gain"], {"mean_skill": 0.01})
    assert math.isnan(summary["noise_share"].iloc[0])  # no spread to split
    assert stats.sentences(summary, ["gain"]) == [
        "x vs y, mean_skill: the paired difference is +0.000 in every run of all 5 worlds: "
        "here x and y run alike."
    ]


@pytest.mark.slow
def test_the_readmes_example_is_what_the_demo_across_its_priors_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = "experiments/plausible_worlds.toml` (`--map`):\n\n```\n"
    block = readme.split(marker, 1)[1].split("\n```", 1)[0]
    assert block.startswith("- peer_led vs top_down_internal, mean_skill: over 200 worlds")
    demo = tmp_path / "demo"
    run(ROOT / "experiments" / "sponsorship_vs_peer.toml", out=demo, progress=False)
    done = pipeline.compare(
        demo, across=ROOT / "experiments" / "plausible_worlds.toml", map_worlds=True,
        progress=False,
    )  # fmt: skip
    said = done.text.splitlines()
    for line in block.splitlines():  # the comparison's sentence, then the map's
        assert line in said, "regenerate the README's example from a real run"


def test_a_sweep_with_across_compares_the_worlds_and_the_report_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`trustsim sweep EXP --across PRIOR`: compare.md, report.md and report.html say the worlds."""
    from tests.helpers_cli import in_process

    (tmp_path / "pair.toml").write_text(PAIR.replace("replications = 10", "replications = 3"))
    prior = prior_file(tmp_path, SPONSOR, "sponsor")
    out = tmp_path / "out"
    code, _stdout, stderr = in_process(
        capsys, "sweep", str(tmp_path / "pair.toml"), "--out", str(out), "--workers", "1",
        "--across", str(prior), "--worlds", "12", "--pairs", "2", "--map",
    )  # fmt: skip
    assert code == 0, stderr
    summary = pd.read_csv(out / "across_summary.csv")
    assert set(summary["worlds"]) == {12}
    report = (out / "report.md").read_text()
    assert "## Across plausible worlds" in report
    assert "](figures/across_mean_skill.png)" in report
    first = stats.sentences(summary, ["sponsorship_strength", "survey_bias"])[0]
    assert f"- {first}" in report  # the report quotes the summary's own sentence
    html = (out / "report.html").read_text()
    assert "Across plausible worlds" in html
    assert "<h2>Where each claim holds (scenario discovery)</h2>" in html  # --map, a heading
    assert "## Where each claim holds" not in html
    assert "## Across plausible worlds" in (out / "compare.md").read_text()
    # --worlds without --across is a mistake said in one line
    code, _, stderr = in_process(capsys, "sweep", str(tmp_path / "pair.toml"), "--worlds", "5")
    assert code == 2
    assert "--across" in stderr


def test_the_map_says_where_each_claim_holds_and_its_numbers_are_the_tables(
    sponsor: pipeline.CompareResult, results: Path
) -> None:
    """`compare --across PRIOR --map`: a box on the parameter that matters, checked by hand."""
    folder = sponsor.folder
    found = pipeline.compare(
        folder, across=results.parent / "sponsor.toml", worlds=60, pairs=4, workers=1,
        progress=False, map_worlds=True,
    )  # fmt: skip
    boxes = pd.read_csv(folder / "map.csv")
    box_rows = boxes[boxes["kind"] == "box"]
    assert set(box_rows["parameter"]) == {"sponsorship_strength"}  # never survey_bias
    assert (boxes["kind"] == "leaf").any()  # CART's view beside it
    table = pd.read_csv(folder / "across.csv")
    said = [line for line in found.text.splitlines() if "lie in this box" in line]
    assert said, found.text
    pattern = (
        r"- (\w+) is higher than (\w+) in (\w+) by more than 0\.01 in (\d+)% of the plausible "
        r"worlds; within sponsorship_strength (<=|>=) ([\d.]+) \((\d+)% of the plausible "
        r"worlds\) \w+ is higher in (\d+)% of them \(coverage (\d+)%"
    )
    for line in said:
        m = re.match(pattern, line)
        assert m is not None, line
        b, a, outcome = m.group(1), m.group(2), m.group(3)
        at = table[(table["a"] == a) & (table["b"] == b) & (table["outcome"] == outcome)]
        holds = at["mean_diff"] < -0.01
        limit = float(m.group(6))
        x = at["sponsorship_strength"]
        inside = x <= limit if m.group(5) == "<=" else x >= limit
        assert int(m.group(4)) == round(100 * holds.mean())
        assert int(m.group(7)) == round(100 * inside.mean())
        assert int(m.group(8)) == round(100 * holds[inside].mean())
        assert int(m.group(9)) == round(100 * inside[holds].mean())
        # peer-led wins where the sponsor is weak: the box is the low end
        assert m.group(5) == "<="
        for kind in ("box", "tradeoff"):
            assert (folder / "figures" / f"map_{a}_{b}_{outcome}_{kind}.png").exists()
    assert "## Where each claim holds" in (folder / "across.md").read_text()


def test_a_calibrated_loss_gain_ratio_sets_trust_loss_in_every_world(
    results: Path, tmp_path: Path
) -> None:
    """Worlds take the calibrated parameters only (calibration.json), the ratio as trust_loss."""
    import json

    folder = tmp_path / "cal"
    folder.mkdir()
    pd.DataFrame(
        {
            "generation": [0, 0], "particle": [0, 1], "weight": [0.5, 0.5], "distance": [1, 1],
            "trust_gain": [0.05, 0.1], "trust_loss_ratio": [2.0, 3.0],
            "realized_loading.psychological_safety.104": [0.5, 0.6],
        }
    ).to_csv(folder / "posterior.csv", index=False)  # fmt: skip
    priors = {"trust_gain": {"min": 0.02, "max": 0.3}, "trust_loss_ratio": {"min": 1, "max": 3}}
    (folder / "calibration.json").write_text(json.dumps({"priors": priors}))
    source = load_source(folder)
    assert source.parameters == ("trust_gain", "trust_loss_ratio")  # not realized_loading
    copy = copy_of(results, "ratio")
    pipeline.across(copy, folder, worlds=4, pairs=2, workers=1, progress=False)
    store = next((copy / "across").glob("*/results.sqlite"))
    with sqlite3.connect(store) as db:
        rows = db.execute("select trust_gain, trust_loss from runs").fetchall()
    assert rows
    assert {round(loss / gain, 9) for gain, loss in rows} <= {2.0, 3.0}
