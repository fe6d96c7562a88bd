"""Value classes of the types that have no plain Python equivalent (sorted sets, streams)."""
