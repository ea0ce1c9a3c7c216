"""Refresh marks: the customers whose stored verdict may no longer hold, written in the
transaction of whatever changed it and drained in bulk by the frequency refresher."""
