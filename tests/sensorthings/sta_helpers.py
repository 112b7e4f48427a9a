"""Shared by the SensorThings tests (importable: conftest.py puts this folder on sys.path)."""

# reading kind -> (quantity, data field): the README's mapping table, written down again here
# so that the tests check the mapping module against it (water levels: the tests' own rule)
QUANTITY_FIELDS = {
    "parking": [("occupancy", "occupied")],
    "water_level": [("water_alarm", "alarm")],
    "temperature": [
        ("air_temperature", "temperature_c"),
        ("relative_humidity", "humidity_pct"),
        ("air_pressure", "pressure_hpa"),
    ],
    "status": [("battery_voltage", "battery_mv")],
}
