"""A fake Rocket League speaking the Stats API over TCP: replays captures, synthesises matches."""
