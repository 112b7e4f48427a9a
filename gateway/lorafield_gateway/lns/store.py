"""Where the server keeps its state: in memory here; issue 7 puts SQLite behind the same
methods (sessions, join state, frames, readings, downlink queues, events)."""


class MemoryStore:
    def __init__(self):
        self.sessions = {}  # dev_eui hex -> Session
        self._by_addr = {}  # dev_addr -> dev_eui hex
        self.join_state = {}  # dev_eui hex -> {"dev_nonce": last, "join_nonce": next}
        self.queues = {}  # dev_eui hex -> list of queued downlinks
        self.frames = []  # accepted uplinks (raw PHYPayload and metadata)
        self.readings = []  # decoded application payloads
        self.events = []

    # -- sessions -----------------------------------------------------------------------------
    def put_session(self, session):
        old = self.sessions.get(session.dev_eui)
        if old is not None and self._by_addr.get(old.dev_addr) == session.dev_eui:
            del self._by_addr[old.dev_addr]
        self.sessions[session.dev_eui] = session
        self._by_addr[session.dev_addr] = session.dev_eui

    def session(self, dev_eui):
        return self.sessions.get(dev_eui)

    def session_by_addr(self, dev_addr):
        eui = self._by_addr.get(dev_addr)
        return None if eui is None else self.sessions.get(eui)

    def dev_addr_in_use(self, dev_addr):
        return dev_addr in self._by_addr

    # -- join state ---------------------------------------------------------------------------
    def join(self, dev_eui):
        return self.join_state.setdefault(dev_eui, {"dev_nonce": None, "join_nonce": 0})

    # -- queues, records ----------------------------------------------------------------------
    def queue(self, dev_eui):
        return self.queues.setdefault(dev_eui, [])

    def add_frame(self, record):
        self.frames.append(record)

    def add_reading(self, record):
        self.readings.append(record)

    def add_event(self, event):
        self.events.append(event)
