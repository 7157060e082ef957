"""Benchmarks (`make bench`): tools, not product; nothing in the apps imports them."""
