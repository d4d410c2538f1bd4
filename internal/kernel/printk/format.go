package printk

import (
	"fmt"
	"strings"
)

// Timestamp formats ts_nsec as the kernel and crash do: "[%5lu.%06lu]".
func Timestamp(tsNsec uint64) string {
	return fmt.Sprintf("[%5d.%06d]", tsNsec/1e9, tsNsec%1e9/1000)
}

// CrashText renders a record's text as crash's `log` prints it (printk.c
// dump_record): every byte that is neither printable ASCII nor white space
// becomes '.', and each '\n' inside the text starts a new line indented by
// indent spaces (the width of the prefix printed before the first line).
// No trailing newline is added.
func CrashText(r *Record, indent int) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for i := 0; i < len(r.Text); i++ {
		c := r.Text[i]
		switch {
		case c == '\n':
			b.WriteByte('\n')
			b.WriteString(pad)
		case c >= 0x20 && c < 0x7f, c == '\t', c == '\v', c == '\f', c == '\r':
			b.WriteByte(c)
		default:
			b.WriteByte('.')
		}
	}
	return b.String()
}

// CrashLine is the record as crash's plain `log` prints it, without the
// final newline: "[    1.234567] text", continuation lines indented.
func CrashLine(r *Record) string {
	p := Timestamp(r.TsNsec) + " "
	return p + CrashText(r, len(p))
}

// ConsoleLines are the lines the kernel writes to a console for a record
// (kernel/printk/printk.c record_print_text with the time prefix): every line
// of a multi-line text gets its own "[    1.234567] " prefix. A trailing
// newline in the text does not make an extra line.
func ConsoleLines(r *Record) []string {
	p := Timestamp(r.TsNsec) + " "
	text := strings.TrimSuffix(r.Text, "\n")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		out = append(out, p+line)
	}
	return out
}

// TextLines is what crash's get_panicmsg scans: the log as `log -t` prints
// it (no time stamps), one string per line; a data-less record is an empty
// line.
func TextLines(recs []Record) []string {
	var out []string
	for i := range recs {
		out = append(out, strings.Split(CrashText(&recs[i], 0), "\n")...)
	}
	return out
}
