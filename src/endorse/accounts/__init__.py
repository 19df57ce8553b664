"""Accounts, upload tokens and project membership."""

from endorse.accounts.service import Accounts, Identity

__all__ = ["Accounts", "Identity"]
