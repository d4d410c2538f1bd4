package printk_test

import (
	"fmt"
	"strings"
	"testing"

	"kdive/internal/testcorpus"
)

// floodText is record I of kdive_ext's flood (testdata/rig/ext/module:
// kdive_ext_flood): "kdive-flood %05d " and (I*37)%251 letters
// 'a'+(I+J)%26; every 500th record carries a second line.
func floodText(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kdive-flood %05d ", i)
	for j := 0; j < i*37%251; j++ {
		b.WriteByte(byte('a' + (i+j)%26))
	}
	if i%500 == 499 {
		fmt.Fprintf(&b, "\n  continued %05d", i)
	}
	return b.String()
}

// The logring dump's printk ring has wrapped: the guest wrote 4,500
// KERN_DEBUG records (~680 KB) into a 128 KiB data ring with 4,096
// descriptors, then ~400 records of truth and the panic. The log must be
// the ring's tail with no gap: records in seq order without a hole, the
// oldest one a flood record (everything before the flood overwritten),
// every flood record from there to the last equal to the text the module
// wrote (also where a record's data block wrapped to the start of the data
// ring), then "TRUTH flood_count 4500" and the rest up to the panic.
func TestLogringWrapped(t *testing.T) {
	testcorpus.ExtDir(t)
	for _, d := range []struct{ name, vmlinux, format string }{
		{"elf", testcorpus.ExtVmlinux(t), testcorpus.KdumpELF},
		{"lzo-no-vmlinux", "", testcorpus.KdumpLZO},
	} {
		t.Run(d.name, func(t *testing.T) {
			log := readLog(t, d.vmlinux, testcorpus.ExtFile(t, "logring", d.format))
			for _, w := range log.Warnings {
				t.Errorf("warning: %s", w)
			}
			recs := log.Records
			if len(recs) < 500 {
				t.Fatalf("only %d records", len(recs))
			}
			for i := 1; i < len(recs); i++ {
				if recs[i].Seq != recs[i-1].Seq+1 {
					t.Fatalf("seq %d after %d", recs[i].Seq, recs[i-1].Seq)
				}
			}
			last := recs[len(recs)-1]
			// Seqs past 4096 reuse descriptors (index seq % 4096).
			if recs[0].Seq == 0 || last.Seq < 4096 {
				t.Errorf("seqs %d..%d: the ring did not wrap", recs[0].Seq, last.Seq)
			}
			var first int
			if _, err := fmt.Sscanf(recs[0].Text, "kdive-flood %05d ", &first); err != nil {
				t.Fatalf("oldest record %d is not a flood record: %q", recs[0].Seq, recs[0].Text)
			}
			n := 4500 - first
			if n > len(recs) {
				t.Fatalf("oldest flood record %d; only %d records", first, len(recs))
			}
			var bytes int
			for k := 0; k < n; k++ {
				r := &recs[k]
				if want := floodText(first + k); r.Text != want || r.Level != 7 {
					t.Fatalf("record %d (seq %d): level %d %q, want level 7 %q", k, r.Seq, r.Level, r.Text, want)
				}
				bytes += len(r.Text)
			}
			if r := recs[n]; r.Text != "TRUTH flood_count 4500" {
				t.Errorf("after the flood: %q", r.Text)
			}
			multi := 0
			for k := 0; k < n; k++ {
				if strings.Contains(recs[k].Text, "\n  continued ") {
					multi++
				}
			}
			if multi == 0 {
				t.Error("no two-line flood record in the ring")
			}
			t.Logf("%d records (seq %d..%d), %d flood records from #%d (%d bytes of text)", len(recs), recs[0].Seq, last.Seq, n, first, bytes)
		})
	}
}
