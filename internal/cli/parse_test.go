package cli

import (
	"reflect"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		want Line
	}{
		{"", Line{}},
		{"   \t ", Line{}},
		{"sys", Line{Args: []string{"sys"}}},
		{"  bt   -a  \t 123 ", Line{Args: []string{"bt", "-a", "123"}}},
		{"ps\n", Line{Args: []string{"ps"}}},
		{"ps\r\n", Line{Args: []string{"ps"}}},

		// pipes
		{"log | grep oom", Line{Args: []string{"log"}, Pipe: "grep oom"}},
		{"log|head -1", Line{Args: []string{"log"}, Pipe: "head -1"}},
		{"ps | grep a | wc -l", Line{Args: []string{"ps"}, Pipe: "grep a | wc -l"}},
		{"ps | grep a > /tmp/x", Line{Args: []string{"ps"}, Pipe: "grep a > /tmp/x"}},

		// redirections
		{"log > out.txt", Line{Args: []string{"log"}, File: "out.txt"}},
		{"log>out.txt", Line{Args: []string{"log"}, File: "out.txt"}},
		{"log >> out.txt", Line{Args: []string{"log"}, File: "out.txt", Append: true}},
		{"log>>out.txt", Line{Args: []string{"log"}, File: "out.txt", Append: true}},
		{"log > 'my file'", Line{Args: []string{"log"}, File: "my file"}},
		{`log > "my file"`, Line{Args: []string{"log"}, File: "my file"}},

		// quotes
		{`search -c "a b"`, Line{Args: []string{"search", "-c", "a b"}}},
		{`search -c 'a b'`, Line{Args: []string{"search", "-c", "a b"}}},
		{`search -c "a|b"`, Line{Args: []string{"search", "-c", "a|b"}}},
		{`search -c "a>b" | head`, Line{Args: []string{"search", "-c", "a>b"}, Pipe: "head"}},
		{`search -c 'x > y' > f`, Line{Args: []string{"search", "-c", "x > y"}, File: "f"}},
		{`echo "it's"`, Line{Args: []string{"echo", "it's"}}},
		{`echo 'say "hi"'`, Line{Args: []string{"echo", `say "hi"`}}},
		{`echo a"b c"d`, Line{Args: []string{"echo", "ab cd"}}},
		{`echo ""`, Line{Args: []string{"echo", ""}}},
		{`echo "unterminated | x`, Line{Args: []string{"echo", "unterminated | x"}}},

		// parentheses: one argument, and no pipe or redirection inside
		{"p (a | b)", Line{Args: []string{"p", "(a | b)"}}},
		{"eval (1 << 2) | cat", Line{Args: []string{"eval", "(1 << 2)"}, Pipe: "cat"}},
		{"eval (1 > 2)", Line{Args: []string{"eval", "(1 > 2)"}}},
		{"rd (sym + 8) 4", Line{Args: []string{"rd", "(sym + 8)", "4"}}},
		{"eval (1 + (2 * 3))", Line{Args: []string{"eval", "(1 + (2 * 3))"}}},

		// "->" is not a redirection
		{"p init_task->pid", Line{Args: []string{"p", "init_task->pid"}}},
		{"p init_task->pid > f", Line{Args: []string{"p", "init_task->pid"}, File: "f"}},

		// shell escapes
		{"!ls -l", Line{Shell: "ls -l"}},
		{"! ls | wc -l", Line{Shell: "ls | wc -l"}},
		{"|date", Line{Shell: "date"}},
		{"!", Line{ShellEscape: true}},
		{" | ", Line{ShellEscape: true}},

		// leading backslash
		{`\bt -a`, Line{Args: []string{"bt", "-a"}}},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.in)
		if err != nil {
			t.Errorf("ParseLine(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("ParseLine(%q) =\n %#v, want\n %#v", tt.in, *got, tt.want)
		}
	}
}

func TestParseLineErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"log |", "no shell command after '|'"},
		{"log |   ", "no shell command after '|'"},
		{"log | grep x |", "pipe to nowhere?"},
		{"log >", "no file name after >"},
		{"log >>  ", "no file name after >>"},
	}
	for _, tt := range tests {
		_, err := ParseLine(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseLine(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestIsComment(t *testing.T) {
	for _, s := range []string{"", "  ", "# x", "  #x", "// y", "\n"} {
		if !IsComment(s) {
			t.Errorf("IsComment(%q) = false", s)
		}
	}
	for _, s := range []string{"sys", " bt # x", "/ x"} {
		if IsComment(s) {
			t.Errorf("IsComment(%q) = true", s)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{" a  b ", []string{"a", "b"}},
		{"f(x) y", []string{"f(x)", "y"}},               // '(' inside a word is plain
		{"(unbalanced x", []string{"(unbalanced", "x"}}, // no ')' at all
		{"'' x", []string{"", "x"}},
	}
	for _, tt := range tests {
		if got := SplitWords(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitWordsQuoted(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ps 'kworker.*' 1", []string{"ps", "'kworker.*'", "1"}},
		{`foreach 'a b' "c d" bt`, []string{"foreach", "'a b'", "c d", "bt"}},
		{"x 'unterminated", []string{"x", "'unterminated"}},
	}
	for _, tt := range tests {
		if got := SplitWordsQuoted(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitWordsQuoted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
