package dwarfx

// u64map is an open-addressing hash table from non-zero uint64 keys to
// uint64 values (linear probing), faster than a Go map for the indexer's
// millions of lookups.
type u64map struct {
	slots []u64slot
	n     int
	shift uint
}

type u64slot struct{ k, v uint64 }

func newU64map(sizeHint int) *u64map {
	m := &u64map{}
	c := 1024
	for c < sizeHint*2 {
		c *= 2
	}
	m.init(c)
	return m
}

func (m *u64map) init(c int) {
	m.slots = make([]u64slot, c)
	m.n = 0
	m.shift = 64
	for x := c; x > 1; x >>= 1 {
		m.shift--
	}
}

func (m *u64map) hash(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> m.shift }

// get returns the value of k (0 when absent).
func (m *u64map) get(k uint64) uint64 {
	mask := uint64(len(m.slots) - 1)
	for i := m.hash(k); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.k == k {
			return s.v
		}
		if s.k == 0 {
			return 0
		}
	}
}

// slot returns a pointer to k's value, inserting k (value 0) when absent.
func (m *u64map) slot(k uint64) *uint64 {
	if (m.n+1)*2 > len(m.slots) {
		old := m.slots
		m.init(len(old) * 2)
		for _, s := range old {
			if s.k != 0 {
				*m.slotNoGrow(s.k) = s.v
			}
		}
	}
	return m.slotNoGrow(k)
}

func (m *u64map) slotNoGrow(k uint64) *uint64 {
	mask := uint64(len(m.slots) - 1)
	for i := m.hash(k); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.k == k {
			return &s.v
		}
		if s.k == 0 {
			s.k = k
			m.n++
			return &s.v
		}
	}
}

func (m *u64map) len() int { return m.n }

func (m *u64map) each(fn func(k, v uint64)) {
	for _, s := range m.slots {
		if s.k != 0 {
			fn(s.k, s.v)
		}
	}
}
