package evalnll

import (
	"fmt"
	"testing"
)

func TestRowErrorSplitsMessage(t *testing.T) {
	for _, col := range []string{"p", `a "quoted" col`, "tab\there", "π", ""} {
		for _, tail := range []string{": NaN", " element 3: 1.5 is outside [0, 1]"} {
			msg := fmt.Sprintf("column %q%s", col, tail)
			if got := messageColumn(msg); got != col {
				t.Errorf("messageColumn(%q) = %q, want %q", msg, got, col)
			}
			e := newRowError("f.parquet", 7, col, msg)
			if want := "f.parquet:7: " + msg; e.Error() != want {
				t.Errorf("Error() = %q, want %q", e.Error(), want)
			}
			if e.Reason == "" || e.Reason[0] == ' ' || e.Reason[0] == ':' {
				t.Errorf("Reason %q of %q", e.Reason, msg)
			}
		}
	}
	if got := messageColumn("more than 3 distinct --by combinations"); got != "" {
		t.Errorf("not a row message: %q", got)
	}
}
