"""The workshop room: people play members of a simulated team (game), its server, its debrief."""
