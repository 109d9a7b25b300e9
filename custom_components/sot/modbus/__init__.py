"""The Modbus transport: device profiles, the block planner, the bus client and the poller."""
