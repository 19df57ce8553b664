"""The publishing side: keys, the TUF repository over storage, the publisher."""
