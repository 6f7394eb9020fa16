package report

import "testing"

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"naïve ✓", "naïve ✓"},
		{"\x1b]0;pwned\a\x1b[2K", `\x1b]0;pwned\a\x1b[2K`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"nul\x00", `nul\x00`},
		{"del\x7f", `del\x7f`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"c1\u0085", `c1\u0085`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"", ""},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
