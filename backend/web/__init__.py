"""The web pages served by the back end: parents' pages and the pupil's pass (server-rendered)."""
