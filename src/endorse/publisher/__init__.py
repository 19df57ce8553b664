"""The publisher: the one process that signs online roles, in batches (PEP 458/480).

It takes what the index recorded (the queue, accepted releases, ready signing
events), builds targets and listings, signs bins, snapshot and timestamp, and
writes them timestamp last. Also the repository's first version, pruning and
recovery after a theft of the online keys.
"""
