"""Value classes and formats of the types that have no plain Python equivalent (sorted sets,
streams, HyperLogLog): sans-I/O, no commands, no trio."""
