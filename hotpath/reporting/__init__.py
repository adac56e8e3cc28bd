"""Reporting: benchmark runs as tables, charts and Markdown pages.

``rows`` turns pytest-benchmark's records into rows with ratios; ``summary`` prints them
at the end of ``pytest bench/``; ``saved`` reads saved runs back; ``report`` writes
RESULTS.md with ``charts``; ``markdown`` is the one table writer every page uses; ``cli``
registers ``hotpath report``.
"""
