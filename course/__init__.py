"""Instructor tooling for the LSTM course (not needed by students: notebooks stand alone)."""
