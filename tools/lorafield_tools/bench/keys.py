"""The keys of the benchmarks' emulated devices: published example keys, so test keys by
definition. Never a real device's keys; a name says so wherever one is used."""

# The AES-128 example key of FIPS-197 (appendix A.1), also RFC 4493's CMAC example key.
FIPS197_TEST_KEY_HEX = "2b7e151628aed2a6abf7158809cf4f3c"
TEST_APP_KEY = bytes.fromhex(FIPS197_TEST_KEY_HEX)
# ABP session keys of benchmark devices: counting bytes.
TEST_NWK_S_KEY = bytes(range(16))
TEST_APP_S_KEY = bytes(range(16, 32))

# The same names for the programs that run in the MicroPython VM (mac_programs.py): source
# text, since they cannot import this module.
TEST_KEYS_SOURCE = f"""
# Test keys (lorafield_tools/bench/keys.py): the FIPS-197 example key, counting bytes.
TEST_APP_KEY = bytes.fromhex("{FIPS197_TEST_KEY_HEX}")
TEST_NWK_S_KEY = bytes(range(16))
TEST_APP_S_KEY = bytes(range(16, 32))
"""
