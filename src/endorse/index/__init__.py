"""The index at request time: accounts, projects, uploads, claims, releases, signing events.

Everything a request handler or an admin command changes in the index goes
through here. Nothing here signs: the index records, checks and verifies;
the publisher (:mod:`endorse.publisher`) signs.
"""
