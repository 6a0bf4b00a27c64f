"""Scheduling: when each cue fires next, and the job that sends what is due."""
