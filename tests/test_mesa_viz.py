"""Mesa's own SolaraViz on TrustModel (examples/mesa_viz.py): the page, served by `solara
run`, renders the trust network and the plots in Chromium without an error, steps, and
resets to the scenario with the sliders' values (sim.model.trust_model.viz_params)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from sim.model.scenario import preset
from sim.model.trust_model import SLIDERS, TrustModel, viz_params
from tests.helpers_browser import CHROMIUM, FLAGS, free_port, require_chromium, serve, stop

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = preset("top_down_internal")


def test_viz_params_are_sliders_over_the_ranges_and_the_rest_fixed() -> None:
    params = viz_params(SCENARIO)
    for name in SLIDERS:
        slider = params[name]
        assert slider["type"] == "SliderFloat"
        assert slider["value"] == getattr(SCENARIO, name)
        assert slider["min"] < slider["value"] < slider["max"]
    assert params["trust_gain"]["min"] == 0.0
    assert params["trust_gain"]["max"] == 1.0
    assert viz_params(SCENARIO, ["members"])["members"]["type"] == "SliderInt"
    with pytest.raises(ValueError, match="'trust_gian' is not a number parameter"):
        viz_params(SCENARIO, ["trust_gian"])
    with pytest.raises(ValueError, match="'coach' is not a number parameter"):
        viz_params(SCENARIO, ["coach"])


def test_solaravizs_reset_builds_the_scenario_with_the_sliders_values() -> None:
    from mesa.visualization.solara_viz import _build_model_init_kwargs, split_model_params

    sliders, fixed = split_model_params(viz_params(SCENARIO))
    chosen = {**fixed, **{k: v["value"] for k, v in sliders.items()}, "trust_gain": 0.2}
    model = TrustModel(SCENARIO, rng=1)
    # What SolaraViz's reset does: it passes Mesa's own Scenario along.
    kwargs = _build_model_init_kwargs(
        model, chosen, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    again = type(model)(**kwargs)
    want = SCENARIO.with_(trust_gain=0.2).model_dump(exclude={"name", "description"})
    assert again.params.model_dump(exclude={"name", "description"}) == want


@pytest.mark.slow
def test_the_solaraviz_page_renders_steps_and_resets_in_chromium(tmp_path: Path) -> None:
    require_chromium(module=False)
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/no-cdn/",  # nothing from outside
    }
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "solara", "run", "examples/mesa_viz.py", "--port", str(port)]
    server = serve(
        [*command, "--no-open", "--production", "--no-check-version"],
        url,
        tmp_path / "solara.log",
        env=env,
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            local = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")
            page.on(
                "request",
                lambda r: None if r.url.startswith(local) else errors.append(f"fetched {r.url}"),
            )
            page.goto(url, timeout=90_000)
            # The space (the trust network) and the two plots are drawn.
            expect(page.locator("img")).to_have_count(3, timeout=60_000)
            expect(page.get_by_text("trust gain", exact=True)).to_be_visible()
            expect(page.get_by_text("Time: 0.0")).to_be_visible()
            # Nothing lies under the sidebar (under ipyvue 3 it covered the network).
            edge = page.locator(".v-navigation-drawer").bounding_box()
            assert edge is not None
            for box in [img.bounding_box() for img in page.locator("img").all()]:
                assert box is not None
                assert box["x"] >= edge["x"] + edge["width"], (box, edge)
            for _ in range(3):
                page.get_by_role("button", name="Step").click()
            expect(page.get_by_text("Time: 3.0")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Reset").click()
            expect(page.get_by_text("Time: 0.0")).to_be_visible(timeout=30_000)
            expect(page.locator("img")).to_have_count(3, timeout=30_000)
            (ROOT / "results" / "app").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ROOT / "results" / "app" / "mesa_viz.png"))
            browser.close()
        assert not errors, errors
    finally:
        stop(server)
