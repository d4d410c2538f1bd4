package vmcoreinfo

import "testing"

const sample = "OSRELEASE=6.1.0-53-cloud-amd64\nBUILD-ID=4409ab2b\nSYMBOL(init_uts_ns)=ffffffffa9ff9be0\nOFFSET(list_head.prev)=8\nSIZE(page)=64\nNUMBER(phys_base)=-515899392\nKERNELOFFSET=27400000\nCRASHTIME=1795344636\ngarbage\n=x\n\x00SYMBOL(hidden)=1\n"

func TestParse(t *testing.T) {
	in := Parse([]byte(sample))
	if in.OSRelease() != "6.1.0-53-cloud-amd64" || in.BuildID() != "4409ab2b" {
		t.Fatalf("release/build-id: %q %q", in.OSRelease(), in.BuildID())
	}
	if v, ok := in.Symbol("init_uts_ns"); !ok || v != 0xffffffffa9ff9be0 {
		t.Fatalf("symbol %x %v", v, ok)
	}
	if v, ok := in.Offset("list_head", "prev"); !ok || v != 8 {
		t.Fatal("offset")
	}
	if v, ok := in.Number("phys_base"); !ok || uint64(v) != 0xffffffffe1400000 {
		t.Fatalf("phys_base %x", uint64(v))
	}
	if v, ok := in.KernelOffset(); !ok || v != 0x27400000 {
		t.Fatal("kerneloffset")
	}
	if _, ok := in.Symbol("hidden"); ok {
		t.Fatal("text after NUL parsed")
	}
	if _, ok := in.Size("nothing"); ok {
		t.Fatal("missing key found")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := Parse(b)
		in.Symbol("x")
		in.Number("phys_base")
		in.KernelOffset()
	})
}
