"""Analytics: contact volume, outcomes by follow-up number and cadence compliance, computed
with SQL over the touches at query time."""
