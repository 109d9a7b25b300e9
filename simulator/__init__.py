"""The SOT point simulator: a whole site's field devices, played in real or accelerated time.

The physics and the controller state machine are pure and stepped by a clock the caller
owns (`Site.step`), so tests drive hours of simulated time in milliseconds; the Modbus server
and the MQTT nodes only show the model's state to the outside world and feed commands back.
"""
