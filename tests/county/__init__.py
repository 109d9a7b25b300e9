"""The county: site brokers bridged to a county broker by scripts/county's configuration."""
