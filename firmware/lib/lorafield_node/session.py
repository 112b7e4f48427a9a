"""Persistent LoRaWAN state over the power-safe ``Store``: DevNonce, the session and FCntUp.

Records (one Store key each; every write is one small appended record):

* ``"dn"``:  next DevNonce, u32 LE. Written *before* the Join-request that uses the nonce, so a
  reset at any point of a join never lets a nonce be sent twice (LoRaWAN 1.0.4 6.2.4: DevNonce
  is a counter starting at 0, kept in non-volatile memory).
* ``"ses"``: generation u16, activation (1 OTAA, 2 ABP), DevAddr, NwkSKey, AppSKey and the
  settings MAC commands change (RX1DROffset, RX2 DR/frequency, RX1 delay, DR, TX power index,
  NbTrans, MaxDutyCycle, ADR on/off). Rewritten only when one of them changes.
* ``"ch"``:  channel plan: enabled mask u16, then per channel 0..15 uplink frequency,
  downlink (RX1) frequency (both u24 in 100 Hz) and DR range (min | max << 4).
  A fixed-grid region (US915, AU915) stores only its 72-bit enabled mask instead, as ``"cm"``
  (9 bytes LE): the grid itself is the region's.
* ``"tp"``:  TxParamSetupReq's settings (regions that have it): uplink dwell, downlink dwell
  (0/1), MaxEIRP dBm; absent = the region's defaults.
* ``"fu"``:  generation u16 and a FCntUp *reservation* u32: every counter below it may have
  been used. Before sending counter f >= reservation the device stores f + N first, so the
  flash is written once per N uplinks and any boot (power cut, watchdog, deep sleep) resumes
  at the reservation: at most N - 1 counters are skipped, none is ever reused.
* ``"fd"``:  generation u16, next expected FCntDown u32 and the FCntUp of the last downlink
  (ADR_ACK_CNT = uplinks since then), written on every authentic downlink.

The generation ties "fu"/"fd" to one session: a new session is stored first with a new
generation, so a power cut before its counters are written leaves records of the old
generation, which read as "start at 0".
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


OTAA = const(1)
ABP = const(2)
MAX_CHANNELS = const(16)
_FCNT_LIMIT = const(0xFFFFFFFF)
_SES = "<BHBI16s16sBBIBBBBBB"  # version, gen, mode, DevAddr, keys, settings
_SES_VERSION = const(1)


class SessionError(ValueError):
    """No session, DevNonce or FCntUp exhausted, or a damaged record."""


class Session:
    def __init__(self, store, region, fcnt_reserve=16):
        if not 1 <= fcnt_reserve <= 0x4000:
            raise SessionError("fcnt_reserve must be 1..16384")
        self._store = store
        self._region = region
        self.fcnt_reserve = fcnt_reserve
        self.flash_writes = 0  # records this object put into the store
        self._pack = bytearray(10)  # preallocated counter record ("fu": 6 bytes, "fd": 10)
        raw = store.get("dn")
        self.dev_nonce = struct.unpack("<I", raw)[0] if raw is not None and len(raw) == 4 else 0
        self.mode = 0  # 0: no session
        self.gen = 0
        self.dev_addr = 0
        self.nwk_skey = b""
        self.app_skey = b""
        self.fcnt_up = 0
        self._reserved = 0
        self.fcnt_down = 0
        self.last_dl_fcnt_up = 0
        self._defaults()
        self._load()

    # -- defaults ------------------------------------------------------------------------------
    def _defaults(self):
        r = self._region
        self.rx1_dr_offset = 0
        self.rx2_dr = r.rx2_dr
        self.rx2_freq = r.rx2_frequency
        self.rx1_delay = 1
        self.dr = r.default_dr_max
        self.tx_power = r.default_tx_power
        self.nb_trans = 1
        self.max_dcycle = 0
        self.adr = True
        self.uplink_dwell = r.uplink_dwell
        self.downlink_dwell = r.downlink_dwell
        self.max_eirp = -1  # TxParamSetupReq's MaxEIRP in dBm; -1: the region's
        self.ch_mask = 0
        if r.fixed:  # the grid is the region's: read-only views, not 3 x 72 list entries
            from .region_fixed import Grid

            self.ch_freq = Grid(r, 0)
            self.ch_dl = Grid(r, 1)
            self.ch_drange = Grid(r, 2)
        else:
            self.ch_freq = [0] * MAX_CHANNELS
            self.ch_dl = [0] * MAX_CHANNELS
            self.ch_drange = [0] * MAX_CHANNELS
        self.default_channels()

    def default_channels(self):
        """Define the region's default channels and enable the default mask (other defined
        channels keep their definition and are switched off: 1.0.4 ADR backoff, RP002 2.x)."""
        r = self._region
        if r.fixed:
            self.ch_mask = r.default_mask()
            return
        on = r.default_mask()
        for i in range(len(r.default_channels)):
            self.ch_freq[i] = r.default_channels[i]
            self.ch_dl[i] = r.default_channels[i]
            self.ch_drange[i] = r.default_dr_min | (r.default_dr_max << 4)
            if (on >> i) & 1:
                self.ch_mask |= 1 << i
            else:
                self.ch_mask &= ~(1 << i)

    def defined_mask(self):
        m = 0
        for i in range(len(self.ch_freq)):
            if self.ch_freq[i]:
                m |= 1 << i
        return m

    # -- loading -------------------------------------------------------------------------------
    def _load(self):
        raw = self._store.get("ses")
        if raw is None:
            return
        if len(raw) != struct.calcsize(_SES) or raw[0] != _SES_VERSION:
            raise SessionError("stored session has an unknown format")
        f = struct.unpack(_SES, raw)
        self.gen, self.mode, self.dev_addr = f[1], f[2], f[3]
        self.nwk_skey, self.app_skey = f[4], f[5]
        self.rx1_dr_offset, self.rx2_dr, self.rx2_freq, self.rx1_delay = f[6], f[7], f[8], f[9]
        self.dr, self.tx_power, self.nb_trans, self.max_dcycle = f[10], f[11], f[12], f[13]
        self.adr = bool(f[14])
        tp = self._store.get("tp")
        if tp is not None and len(tp) == 3:
            self.uplink_dwell, self.downlink_dwell = tp[0] == 1, tp[1] == 1
            self.max_eirp = -1 if tp[2] == 0xFF else tp[2]
        if self._region.fixed:
            cm = self._store.get("cm")
            if cm is not None and len(cm) == 9:
                self.ch_mask = int.from_bytes(cm, "little")
            ch = None
        else:
            ch = self._store.get("ch")
        if ch is not None and len(ch) == 2 + 7 * MAX_CHANNELS:
            self.ch_mask = ch[0] | (ch[1] << 8)
            for i in range(MAX_CHANNELS):
                p = 2 + 7 * i
                self.ch_freq[i] = (ch[p] | (ch[p + 1] << 8) | (ch[p + 2] << 16)) * 100
                self.ch_dl[i] = (ch[p + 3] | (ch[p + 4] << 8) | (ch[p + 5] << 16)) * 100
                self.ch_drange[i] = ch[p + 6]
        fu = self._store.get("fu")
        if fu is not None and len(fu) == 6:
            gen, value = struct.unpack("<HI", fu)
            if gen == self.gen:
                self.fcnt_up = value
                self._reserved = value
        fd = self._store.get("fd")
        if fd is not None and len(fd) == 10:
            gen, down, up = struct.unpack("<HII", fd)
            if gen == self.gen:
                self.fcnt_down = down
                self.last_dl_fcnt_up = up

    # -- DevNonce ------------------------------------------------------------------------------
    def take_dev_nonce(self):
        """The DevNonce for the next Join-request; the one after it is stored first."""
        nonce = self.dev_nonce
        if nonce > 0xFFFF:
            raise SessionError("DevNonce exhausted: the device cannot join again")
        self._put("dn", struct.pack("<I", nonce + 1))
        self.dev_nonce = nonce + 1
        return nonce

    # -- session -------------------------------------------------------------------------------
    @property
    def active(self):
        return self.mode != 0

    def start(self, mode, dev_addr, nwk_skey, app_skey, fcnt_up=0, fcnt_down=0):
        """Store a new session (after a join, or a new ABP provisioning); counters restart."""
        self.mode = mode
        self.gen = (self.gen + 1) & 0xFFFF
        self.dev_addr = dev_addr
        self.nwk_skey = bytes(nwk_skey)
        self.app_skey = bytes(app_skey)
        self.save()
        self.fcnt_up = fcnt_up
        self._reserved = fcnt_up
        self.fcnt_down = fcnt_down
        self.last_dl_fcnt_up = fcnt_up
        self._put("fd", struct.pack("<HII", self.gen, fcnt_down, fcnt_up))
        self._put("fu", struct.pack("<HI", self.gen, fcnt_up))

    def reset_settings(self):
        """Back to the region's defaults (a new join starts from them)."""
        self._defaults()

    def save(self):
        """Write the session settings and channel plan (only records that changed are written:
        the Store skips a put of identical bytes)."""
        raw = struct.pack(
            _SES,
            _SES_VERSION,
            self.gen,
            self.mode,
            self.dev_addr,
            self.nwk_skey,
            self.app_skey,
            self.rx1_dr_offset,
            self.rx2_dr,
            self.rx2_freq,
            self.rx1_delay,
            self.dr,
            self.tx_power,
            self.nb_trans,
            self.max_dcycle,
            1 if self.adr else 0,
        )
        self._put("ses", raw)
        if self._region.tx_param_setup:
            up = 1 if self.uplink_dwell else 0
            tp = bytes((up, 1 if self.downlink_dwell else 0, self.max_eirp & 0xFF))
            if self.max_eirp >= 0 or self._store.get("tp") is not None:
                self._put("tp", tp)
        if self._region.fixed:
            self._put("cm", self.ch_mask.to_bytes(9, "little"))
            return
        ch = bytearray(2 + 7 * MAX_CHANNELS)
        ch[0] = self.ch_mask & 0xFF
        ch[1] = self.ch_mask >> 8
        for i in range(MAX_CHANNELS):
            p = 2 + 7 * i
            f = self.ch_freq[i] // 100
            d = self.ch_dl[i] // 100
            ch[p] = f & 0xFF
            ch[p + 1] = (f >> 8) & 0xFF
            ch[p + 2] = f >> 16
            ch[p + 3] = d & 0xFF
            ch[p + 4] = (d >> 8) & 0xFF
            ch[p + 5] = d >> 16
            ch[p + 6] = self.ch_drange[i]
        self._put("ch", ch)

    # -- frame counters ------------------------------------------------------------------------
    def take_fcnt_up(self):
        """The 32-bit FCntUp for the next new uplink; never returns a value twice, even across
        power cuts (see the module doc). Raises SessionError when the counter is exhausted."""
        f = self.fcnt_up
        if f > _FCNT_LIMIT:
            raise SessionError("FCntUp exhausted: join again")
        if f >= self._reserved:
            reserve = f + self.fcnt_reserve
            if reserve > _FCNT_LIMIT + 1:
                reserve = _FCNT_LIMIT + 1
            struct.pack_into("<HI", self._pack, 0, self.gen, reserve)
            self._put("fu", memoryview(self._pack)[:6])
            self._reserved = reserve
        self.fcnt_up = f + 1
        return f

    def downlink_received(self, fcnt_down32):
        """An authentic downlink with counter ``fcnt_down32`` arrived: it is the last one
        accepted, and ADR_ACK_CNT restarts."""
        self.fcnt_down = fcnt_down32 + 1
        self.last_dl_fcnt_up = self.fcnt_up
        struct.pack_into("<HII", self._pack, 0, self.gen, self.fcnt_down, self.fcnt_up)
        self._put("fd", self._pack)

    def adr_ack_cnt(self):
        """ADR_ACK_CNT: uplinks sent since the last downlink (over-estimated by < N after a
        power cut, which only makes the backoff start earlier)."""
        return self.fcnt_up - self.last_dl_fcnt_up

    def _put(self, key, value):
        if self._store.put(key, value):
            self.flash_writes += 1
