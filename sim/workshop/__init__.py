"""The workshop: the guided story and sandbox (the app), and the room (workshop.room).

One module per job, in the order a run flows to the page:

- story: the chapters, and the library of scenarios they draw on (plain names, uploads);
- play: a side of the screen (scenario, sliders, fired events) played ahead, with its band;
- network: how a run's network is drawn, week by week (the sides' and the room's);
- sentences: every sentence about a result, generated from the numbers;
- session: the workshop saved to a small JSON file and loaded back;
- exports: the player's data (JSON), the CSV table and the slide picture;
- actions: the page's state and what its controls do (no browser needed);
- app: the Solara page's components;
- room/: participants play members of a simulated team from their phones.
"""
