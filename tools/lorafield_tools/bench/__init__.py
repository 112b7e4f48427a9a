"""Benchmarks behind `lorafield bench NAME`; each prints `name: value` figures."""
