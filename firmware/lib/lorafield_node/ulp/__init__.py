"""The ESP32 ULP-FSM coprocessor: a tiny assembler (asm.py) and the parking sampler program
(parking.py) that polls the magnetometer over RTC I2C while the main CPU deep-sleeps."""
