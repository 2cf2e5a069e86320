"""Tests of the loopback fakes themselves."""
