"""Flow control towards the registration API: caps, rate, fairness and an adaptive limit."""
