"""The service layer: what the faces (web, cli) open and call.

:mod:`endorse.services.index` is everything a request handler needs and never
signs; :mod:`endorse.services.publishing` adds the publisher, for the commands
that run or drive it. The web face imports only the first.
"""
