"""Diplomat-style policy evaluation over recorded PyPI download data.

Which projects should claim first? :mod:`~endorse.research.downloads` reads
download tables and models the unlisted tail, :mod:`~endorse.research.policy`
scores "claim the top N / top X%" policies and the administrators' workload,
:mod:`~endorse.research.concentration` measures how concentrated downloads
are, and :mod:`~endorse.research.metadata_cost` builds and measures real
signed endorse metadata. :func:`~endorse.research.evaluation.evaluate` runs
them all; :mod:`~endorse.research.report` and :mod:`~endorse.research.plots`
render the result (``endorse evaluate``). Only :mod:`~endorse.research.sources`
and :mod:`~endorse.research.plots` touch files.
"""
