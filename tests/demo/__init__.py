"""Tests of `socialbridge demo`: the page in a real browser, and the command itself."""
