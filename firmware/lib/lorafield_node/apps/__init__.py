"""Sensor applications on a shared framework (framework.py). `app_class(kind)` returns the
class for a codec kind: "parking", "water_level" or "temperature"."""


def app_class(kind):
    if kind == "parking":
        from .parking import ParkingApp

        return ParkingApp
    if kind == "water_level":
        from .water_level import WaterLevelApp

        return WaterLevelApp
    if kind == "temperature":
        from .temperature import TemperatureApp

        return TemperatureApp
    raise ValueError("unknown app kind %r" % (kind,))


def start(board, settings, mac=None, cycles=None):
    """Build the node and the app for `settings["app"]` on `board` and run it."""
    from .framework import Node, run

    cls = app_class(settings.get("app"))
    defaults = dict(cls.DEFAULTS)  # deploy-time settings override the app's defaults
    if "interval_s" in settings:
        defaults["interval_s"] = settings["interval_s"]
    if "thresholds" in settings:
        thresholds = dict(defaults.get("thresholds", {}))
        thresholds.update(settings["thresholds"])
        defaults["thresholds"] = thresholds
    node = Node(board, settings, defaults, mac)
    run(node, cls(node, settings), cycles)
