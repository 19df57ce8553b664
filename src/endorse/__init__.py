"""endorse: an end-to-end signed Python package index (PEP 458 and PEP 480 on TUF)."""

__version__ = "0.1.0"
