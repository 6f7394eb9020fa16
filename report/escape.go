package report

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character that is not printable — control
// characters (ESC, BEL, NUL, newline, tab ...), bidirectional overrides,
// invalid UTF-8 — written as Go's %q writes it (\x1b, \a, \n, \u202e,
// \xff), without the surrounding quotes. Names read from files (columns,
// slice keys, file names) go through it before they reach a terminal or a
// report, so that they cannot move the cursor, set the title, or break a
// table.
func Escape(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&15, 16))
		case r == ' ' || strconv.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return asciiFree(s)
		}
	}
	return true
}

// asciiFree is the slow check of printable for strings with non-ASCII
// or control bytes.
func asciiFree(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r != ' ' && !strconv.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}
