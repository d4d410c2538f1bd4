package cli

import (
	"errors"
	"strings"
)

// Line is one parsed command line.
//
// The syntax follows crash's (cmdline.c: setup_redirect, tools.c: parse_line):
//
//	cmd args...                 run cmd
//	cmd args... | pipeline      pipe cmd's output through /bin/sh -c pipeline
//	cmd args... > file          write cmd's output to file
//	cmd args... >> file         append cmd's output to file
//	!shell command              run a shell command (also "|shell command")
//	! (or |) alone              start an interactive /bin/sh
//
// A '|' or '>' inside '...' or "...", or inside parentheses, is not a pipe
// or redirection, and a '>' right after '-' (a "->" member dereference) is
// not one either. Words are split on blanks; quotes group words and are
// removed, and a word that starts with '(' runs to the matching ')' and
// keeps its parentheses, as crash keeps an expression in one argument.
type Line struct {
	Args []string // the command and its arguments; empty for shell lines

	Pipe   string // shell pipeline after the first '|', "" if none
	File   string // redirection target, "" if none
	Append bool   // ">>" rather than ">"

	Shell       string // "!cmd": the shell command to run
	ShellEscape bool   // "!" or "|" alone: an interactive shell
}

// Errors of ParseLine. Their text is crash's (cmdline.c: setup_redirect).
var (
	ErrNoShellCommand = errors.New("no shell command after '|'")
	ErrPipeToNowhere  = errors.New("pipe to nowhere?")
	ErrNoFileName     = errors.New("no file name after >")
	ErrNoFileNameApp  = errors.New("no file name after >>")
)

// IsComment reports whether a line is blank or a comment ("#..." or "//..."),
// which crash skips (main.c: exec_command).
func IsComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//")
}

// ParseLine splits a command line into its command words and its output
// pipe or redirection. A blank line gives a Line with no Args.
func ParseLine(s string) (*Line, error) {
	s = strings.TrimSpace(strings.TrimRight(s, "\r\n"))
	l := &Line{}
	if s == "" {
		return l, nil
	}

	// Shell escapes.
	if s == "!" || s == "|" {
		l.ShellEscape = true
		return l, nil
	}
	if s[0] == '!' || s[0] == '|' {
		which := s[0]
		l.Shell = strings.TrimSpace(s[1:])
		if l.Shell == "" {
			return nil, noShellAfter(which)
		}
		return l, nil
	}

	cmd := s
	if i, kind := findSplit(s); i >= 0 {
		cmd = s[:i]
		switch kind {
		case '|':
			l.Pipe = strings.TrimSpace(s[i+1:])
			if l.Pipe == "" {
				return nil, ErrNoShellCommand
			}
			if strings.HasSuffix(l.Pipe, "|") {
				return nil, ErrPipeToNowhere
			}
		case '>':
			rest := s[i+1:]
			if strings.HasPrefix(rest, ">") {
				l.Append = true
				rest = rest[1:]
			}
			f := strings.TrimSpace(rest)
			if f == "" {
				if l.Append {
					return nil, ErrNoFileNameApp
				}
				return nil, ErrNoFileName
			}
			l.File = unquoteWord(f)
		}
	}
	l.Args = SplitWords(cmd)
	// A leading backslash on the command name is dropped, as crash does
	// (it marks a command that must not be replaced by an alias).
	if len(l.Args) > 0 && len(l.Args[0]) > 1 && l.Args[0][0] == '\\' {
		l.Args[0] = l.Args[0][1:]
	}
	return l, nil
}

func noShellAfter(which byte) error {
	if which == '|' {
		return ErrNoShellCommand
	}
	return errors.New("no shell command after '!'")
}

// findSplit returns the index of the first '|' or '>' that is outside
// quotes and parentheses (and for '>', not right after '-'), and which of
// the two it is; -1 when there is none.
func findSplit(s string) (int, byte) {
	var quote byte
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case '|':
			if depth == 0 {
				return i, '|'
			}
		case '>':
			if depth == 0 && !(i > 0 && s[i-1] == '-') {
				return i, '>'
			}
		}
	}
	return -1, 0
}

// SplitWords splits s on blanks. Text in '...' or "..." is kept together
// and the quotes are removed ("" gives an empty word); a word that starts
// with '(' runs to the matching ')' even across blanks, parentheses kept.
// An unterminated quote or parenthesis runs to the end of the line.
func SplitWords(s string) []string { return splitWords(s, false) }

// SplitWordsQuoted is SplitWords keeping the single quotes of a '...' word
// (crash's parse_line leaves them: ps and foreach take a 'regex' that way).
func SplitWordsQuoted(s string) []string { return splitWords(s, true) }

// commandText is the part of a command line before its pipe or
// redirection.
func commandText(s string) string {
	s = strings.TrimSpace(strings.TrimRight(s, "\r\n"))
	if i, _ := findSplit(s); i >= 0 {
		return s[:i]
	}
	return s
}

func splitWords(s string, keepSingle bool) []string {
	var words []string
	var b strings.Builder
	inWord := false
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
			i++
		case c == '\'' || c == '"':
			inWord = true
			j := strings.IndexByte(s[i+1:], c)
			keep := keepSingle && c == '\''
			if keep {
				b.WriteByte(c)
			}
			if j < 0 {
				b.WriteString(s[i+1:])
				i = len(s)
			} else {
				b.WriteString(s[i+1 : i+1+j])
				if keep {
					b.WriteByte(c)
				}
				i += j + 2
			}
		case c == '(' && !inWord:
			inWord = true
			depth := 0
			j := i
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(s) {
				// Unbalanced: treat like an ordinary word.
				b.WriteByte(c)
				i++
				continue
			}
			b.WriteString(s[i : j+1])
			i = j + 1
		default:
			inWord = true
			b.WriteByte(c)
			i++
		}
	}
	if inWord {
		words = append(words, b.String())
	}
	return words
}

// unquoteWord removes one pair of surrounding quotes from a file name.
func unquoteWord(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
