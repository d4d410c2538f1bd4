package printk

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func texts(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Text)
	}
	return out
}

func TestRingSimple(t *testing.T) {
	rb := newRing(4, 10)
	first := rb.add("Linux version 6.1.0", 0, 5, StateFinalized, false)
	rb.add("second line\nwith continuation", 1_500_000, 6, StateFinalized, false)
	last := rb.add("Kernel panic - not syncing: test", 12_071_407_000, 0, StateCommitted, false)
	rb.setIDs(last, first)
	log, err := Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if log.Format != "printk_ringbuffer" {
		t.Errorf("format %q", log.Format)
	}
	want := []string{"Linux version 6.1.0", "second line\nwith continuation", "Kernel panic - not syncing: test"}
	if got := texts(log.Records); !reflect.DeepEqual(got, want) {
		t.Fatalf("texts %q, want %q", got, want)
	}
	r := log.Records[2]
	if r.Seq != 2 || r.TsNsec != 12_071_407_000 || r.Level != 0 || r.State != StateCommitted || r.CallerID != 0x80000001 || r.Flags != 2 {
		t.Errorf("record %+v", r)
	}
	if log.Records[1].Level != 6 || log.Records[0].Level != 5 {
		t.Errorf("levels %d %d", log.Records[0].Level, log.Records[1].Level)
	}
	if r.Subsystem != "pci" || r.Device != "+pci:0000:00:01.0" {
		t.Errorf("dev_info %q %q", r.Subsystem, r.Device)
	}
	if got := CrashLine(&log.Records[1]); got != "[    0.001500] second line\n               with continuation" {
		t.Errorf("CrashLine %q", got)
	}
	if got := ConsoleLines(&log.Records[1]); !reflect.DeepEqual(got, []string{"[    0.001500] second line", "[    0.001500] with continuation"}) {
		t.Errorf("ConsoleLines %q", got)
	}
	if got := CrashLine(&log.Records[2]); got != "[   12.071407] Kernel panic - not syncing: test" {
		t.Errorf("CrashLine %q", got)
	}
}

// A block that does not fit before the end of the data ring is stored at
// its start; the record whose data it overwrote must not be returned.
func TestRingWrap(t *testing.T) {
	rb := newRing(3, 7)                                               // 8 descriptors, 128-byte text ring
	a := rb.add(strings.Repeat("a", 20), 1, 6, StateFinalized, false) // lpos 0..32
	b := rb.add(strings.Repeat("b", 20), 2, 6, StateFinalized, false) // 32..64
	rb.add(strings.Repeat("c", 20), 3, 6, StateFinalized, false)      // 64..96
	d := rb.add(strings.Repeat("d", 20), 4, 6, StateFinalized, false) // wraps: lpos 96..160, data at 0
	// The kernel made a reusable before overwriting its data and moved the tail.
	n := uint64(8)
	binary.LittleEndian.PutUint64(rb.descB[(a&(n-1))*descSz:], a|uint64(StateReusable)<<62)
	rb.setIDs(d, a) // tail still at a: a is skipped as reusable
	log, err := Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{strings.Repeat("b", 20), strings.Repeat("c", 20), strings.Repeat("d", 20)}
	if got := texts(log.Records); !reflect.DeepEqual(got, want) {
		t.Fatalf("texts %q, want %q", got, want)
	}
	if d0 := rb.descB[(d&(n-1))*descSz:]; binary.LittleEndian.Uint64(d0[8:]) != 96 || binary.LittleEndian.Uint64(d0[16:]) != 160 {
		t.Fatalf("builder did not wrap d")
	}

	// Stale: a left finalized although its data was overwritten by d.
	binary.LittleEndian.PutUint64(rb.descB[(a&(n-1))*descSz:], a|uint64(StateFinalized)<<62)
	log, err = Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 4 || !log.Records[0].Lost || log.Records[0].Text != "" {
		t.Fatalf("stale record not marked lost: %+v", log.Records)
	}
	if len(log.Warnings) == 0 {
		t.Errorf("no warning for stale block")
	}
	_ = b
}

func TestRingStates(t *testing.T) {
	rb := newRing(3, 9)
	first := rb.add("one", 1, 6, StateFinalized, false)
	rb.add("reserved", 2, 6, StateReserved, false)
	rb.add("", 3, 6, StateFinalized, true) // data-less
	rb.add("reusable", 4, 6, StateReusable, false)
	last := rb.add("five", 5, 6, StateFinalized, false)
	rb.setIDs(last, first)
	log, err := Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(log.Records); !reflect.DeepEqual(got, []string{"one", "", "five"}) {
		t.Fatalf("texts %q", got)
	}
	if !log.Records[1].NoData || log.Records[1].TsNsec != 3 {
		t.Errorf("data-less record %+v", log.Records[1])
	}
	if got := TextLines(log.Records); !reflect.DeepEqual(got, []string{"one", "", "five"}) {
		t.Errorf("TextLines %q", got)
	}

	// A slot recycled for another ID (desc_miss) is skipped.
	n := uint64(8)
	binary.LittleEndian.PutUint64(rb.descB[(first&(n-1))*descSz:], (first+8)|uint64(StateFinalized)<<62)
	log, err = Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(log.Records); !reflect.DeepEqual(got, []string{"", "five"}) {
		t.Fatalf("after miss: texts %q", got)
	}
}

// A ring that has wrapped its descriptor IDs many times over still reads
// tail..head only.
func TestRingManyWraps(t *testing.T) {
	rb := newRing(3, 8)
	var ids []uint64
	for i := 0; i < 100; i++ {
		ids = append(ids, rb.add(strings.Repeat("x", i%13)+"#", uint64(i), 6, StateFinalized, false))
	}
	// Only the last few fit in 256 bytes of text and 8 descriptors; keep 4.
	rb.setIDs(ids[99], ids[96])
	log, err := Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 4 || log.Records[0].Seq != 96 || log.Records[3].Seq != 99 {
		t.Fatalf("got %d records %+v", len(log.Records), log.Records)
	}
	for _, r := range log.Records {
		if r.Lost || !strings.HasSuffix(r.Text, "#") {
			t.Errorf("record %d: %+v", r.Seq, r)
		}
	}
	// An absurd tail (more than the ring holds) is clamped, not looped on.
	rb.setIDs(ids[99], ids[99]-1000)
	log, err = Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) > 8 || len(log.Warnings) == 0 {
		t.Fatalf("clamp: %d records, warnings %q", len(log.Records), log.Warnings)
	}
}

func TestRingUnreadableText(t *testing.T) {
	rb := newRing(3, 13) // 8 KiB text ring: two pages
	first := rb.add("page0", 1, 6, StateFinalized, false)
	rb.headLpos = 4096
	last := rb.add("page1", 2, 6, StateFinalized, false)
	rb.setIDs(last, first)
	rb.f.holes[(rb.td+4096)/4096] = true
	log, err := Read(rb.f)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 2 || log.Records[0].Text != "page0" || !log.Records[1].Lost {
		t.Fatalf("records %+v", log.Records)
	}
	if len(log.Warnings) == 0 {
		t.Error("no warning")
	}
}

func TestNoLog(t *testing.T) {
	if _, err := Read(newFake()); err != ErrNoLog {
		t.Fatalf("err %v", err)
	}
}

// legacy builds a 3.5-5.9 style log_buf.
func legacyFake(recs []string, bufLen int, start int) (*fakeMem, uint32, uint32) {
	f := newFake()
	f.vmci["SYMBOL(log_buf)"] = "ffffffff81000100"
	f.vmci["SYMBOL(log_buf_len)"] = "ffffffff81000108"
	f.vmci["SYMBOL(log_first_idx)"] = "ffffffff8100010c"
	f.vmci["SYMBOL(log_next_idx)"] = "ffffffff81000110"
	f.vmci["SIZE(printk_log)"] = "16"
	f.vmci["OFFSET(printk_log.ts_nsec)"] = "0"
	f.vmci["OFFSET(printk_log.len)"] = "8"
	f.vmci["OFFSET(printk_log.text_len)"] = "10"
	f.vmci["OFFSET(printk_log.dict_len)"] = "12"
	vars := f.alloc(0xffffffff81000100, 32)
	buf := f.alloc(0xffffffff82000000, bufLen)
	le.PutUint64(vars[0:], 0xffffffff82000000)
	le.PutUint32(vars[8:], uint32(bufLen))
	idx := start
	first := uint32(start)
	for i, s := range recs {
		dict := ""
		if i == 1 {
			dict = "SUBSYSTEM=pci\x00DEVICE=+pci:0000:00:01.0"
		}
		ln := (16 + len(s) + len(dict) + 7) &^ 7
		if idx+ln+16 > bufLen {
			for j := idx; j < idx+16 && j < bufLen; j++ {
				buf[j] = 0
			}
			idx = 0
		}
		le.PutUint64(buf[idx:], uint64(i)*1000)
		le.PutUint16(buf[idx+8:], uint16(ln))
		le.PutUint16(buf[idx+10:], uint16(len(s)))
		le.PutUint16(buf[idx+12:], uint16(len(dict)))
		buf[idx+15] = 4 << 5
		copy(buf[idx+16:], s)
		copy(buf[idx+16+len(s):], dict)
		idx += ln
	}
	le.PutUint32(vars[12:], first)
	le.PutUint32(vars[16:], uint32(idx))
	return f, first, uint32(idx)
}

func TestLegacy(t *testing.T) {
	recs := []string{"alpha", "beta beta", "gamma gamma gamma", "delta"}
	f, _, _ := legacyFake(recs, 256, 160) // starts near the end: wraps
	log, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if log.Format != "log_buf" {
		t.Errorf("format %q", log.Format)
	}
	if got := texts(log.Records); !reflect.DeepEqual(got, recs) {
		t.Fatalf("texts %q", got)
	}
	if r := log.Records[1]; r.Subsystem != "pci" || r.Device != "+pci:0000:00:01.0" || r.Level != 4 || r.TsNsec != 1000 || r.Seq != 1 {
		t.Errorf("record %+v", r)
	}
	// With log_first_seq/log_next_seq symbols, seq starts there.
	f.syms["log_first_seq"] = 0xffffffff81000200
	f.syms["log_next_seq"] = 0xffffffff81000208
	s := f.alloc(0xffffffff81000200, 16)
	le.PutUint64(s[0:], 40)
	le.PutUint64(s[8:], 44)
	log, err = Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 4 || log.Records[0].Seq != 40 || log.Records[3].Seq != 43 {
		t.Fatalf("seq: %+v", log.Records)
	}
}

func TestCrashTextNonPrintable(t *testing.T) {
	r := &Record{Text: "a\tb\x01c\xc3\xa9d"}
	if got := CrashText(r, 0); got != "a\tb.c..d" {
		t.Errorf("%q", got)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte{0}, uint8(3), uint8(7))
	f.Fuzz(func(t *testing.T, junk []byte, descBits, dataBits uint8) {
		rb := newRing(uint(descBits%6), uint(dataBits%12)+3)
		for i := 0; i < 5; i++ {
			rb.add("hello", uint64(i), 6, StateFinalized, false)
		}
		// Scribble the fuzz input over descriptors, infos and text.
		for i, c := range junk {
			switch i % 3 {
			case 0:
				rb.descB[(i/3)%len(rb.descB)] ^= c
			case 1:
				rb.infoB[(i/3)%len(rb.infoB)] ^= c
			case 2:
				rb.textB[(i/3)%len(rb.textB)] ^= c
			}
		}
		p := rb.f.regions[rb.prb]
		if len(junk) > 8 {
			copy(p[24:40], junk[:8])
		}
		log, err := Read(rb.f)
		if err == nil && len(log.Records) > 1<<(descBits%6)+1 {
			t.Fatalf("%d records from a ring of %d", len(log.Records), 1<<(descBits%6))
		}
	})
}

func FuzzReadLegacy(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint32(0), uint32(64))
	f.Fuzz(func(t *testing.T, junk []byte, first, next uint32) {
		fm, _, _ := legacyFake([]string{"alpha", "beta beta", "gamma gamma gamma", "delta"}, 256, 160)
		buf := fm.regions[0xffffffff82000000]
		for i, c := range junk {
			buf[i%len(buf)] ^= c
		}
		vars := fm.regions[0xffffffff81000100]
		le.PutUint32(vars[12:], first%300)
		le.PutUint32(vars[16:], next%300)
		log, err := Read(fm)
		if err == nil && len(log.Records) > 256/16+2 {
			t.Fatalf("%d records from 256 bytes", len(log.Records))
		}
	})
}
