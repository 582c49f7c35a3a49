"""The workshop room: people play members of a simulated team, from their phones.

- game: `Room`, put together from its parts, with joining and its record;
- core: the room's state, which every part reads; errors: `RoomError`;
- seats: the room code, the seats and their secrets, the names;
- stages: the week's stages (asking, answering), timers and the facilitator's events;
- screens: what a phone and the facilitator's screen show;
- record: a recorded session read back and replayed on the fast path;
- server: the room served to phones and the facilitator; debrief: the debrief and its files.
"""
