"""What the index knows about distribution files: names, filenames, contents."""

from endorse.packages.distributions import Distribution, inspect_distribution
from endorse.packages.names import confusable_key

__all__ = ["Distribution", "confusable_key", "inspect_distribution"]
