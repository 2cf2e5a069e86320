"""The response clock (issue #11): targets for first and next responses that count only
business time, and the pure arithmetic behind due times and "answered in N min"."""
