"""The workshop: the guided story and sandbox (the app), and the room (workshop.room)."""
