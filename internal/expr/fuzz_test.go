package expr

import "testing"

// FuzzEval: any input parses, evaluates and prints without panicking.
func FuzzEval(f *testing.F) {
	for _, s := range []string{
		"1 + 2 * 3", "init.comm[1]", "&((struct task *)0)->comm", "*(int *)0x1000@2",
		"(char)65", "sizeof(struct task)", "init.tasks.next->next", "$1", "-1 ? 2 : 3",
		"((struct list_head *)0x1010)->prev->next", "'\\n'", "0x", "(unsigned long)-1 >> 63",
	} {
		f.Add(s)
	}
	env := newFake()
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		v, err := Eval(env, s)
		if err != nil {
			return
		}
		if v.Type.Size > 1<<16 {
			return
		}
		FormatTop(v, PrintOpts{})
		FormatTop(v, PrintOpts{Fmt: 'x'})
	})
}
