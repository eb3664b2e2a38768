"""Durable timers: a store of due jobs and the loop that runs them through handlers the features register."""
