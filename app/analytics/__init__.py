"""Analytics: contact volume, outcomes by follow-up number and cadence compliance, counted
from the contact facts the refresher keeps beside the touches."""
