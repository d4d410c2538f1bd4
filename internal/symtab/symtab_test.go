package symtab

import "testing"

func TestLookups(t *testing.T) {
	tb := New([]Sym{
		{Name: "b", Addr: 0x2000, Type: 't'},
		{Name: "a", Addr: 0x1000, Type: 'T'},
		{Name: "a_local", Addr: 0x1000, Type: 't'},
		{Name: "dup", Addr: 0x3000, Type: 't'},
		{Name: "dup", Addr: 0x4000, Type: 'T'},
		{Name: "percpu", Addr: 0x10, Type: 'A'},
	}, "test")
	if s, ok := tb.Lookup("dup"); !ok || s.Addr != 0x4000 {
		t.Fatalf("Lookup prefers the global: %+v", s)
	}
	if n := len(tb.LookupAll("dup")); n != 2 {
		t.Fatalf("LookupAll: %d", n)
	}
	if s, off, ok := tb.ByAddr(0x1010); !ok || s.Name != "a" || off != 0x10 {
		t.Fatalf("ByAddr prefers the global at one address: %+v %x", s, off)
	}
	if _, _, ok := tb.ByAddr(0x20); ok {
		t.Fatal("an absolute symbol contained an address")
	}
	m := tb.With([]Sym{{Name: "modfn", Addr: 0x2800, Type: 't', Module: "mod"}})
	if s, off, ok := m.ByAddr(0x2804); !ok || s.Name != "modfn" || off != 4 || s.Module != "mod" {
		t.Fatalf("merged module symbol: %+v", s)
	}
	if _, ok := tb.Lookup("modfn"); ok {
		t.Fatal("With changed the original table")
	}
	if len(m.Module("mod")) != 1 || len(m.Search("dup")) != 2 || m.Len() != 7 {
		t.Fatal("Module/Search/Len")
	}
}
