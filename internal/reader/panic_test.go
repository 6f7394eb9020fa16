package reader

import (
	"errors"
	"runtime"
	"testing"
)

// TestPanicSentences: a decoder's runtime error becomes a sentence about
// the data, and still wraps the runtime error.
func TestPanicSentences(t *testing.T) {
	catch := func(f func()) (err error) {
		defer func() { err = panicError(recover()) }()
		f()
		return nil
	}
	buf := make([]byte, 280)
	idx := []int{2147483824, 7, 0}
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { _ = buf[:idx[0]] }, "corrupt data: a length or offset of 2147483824 exceeds the 280 bytes it refers to"},
		{func() { _ = buf[idx[1]:idx[2]] }, "corrupt data: a range starts at 7, after its end 0"},
		{func() { _ = buf[idx[0]] }, "corrupt data: an index of 2147483824 exceeds a table of 280 entries"},
		{func() { _ = make([]byte, -idx[1]) }, "corrupt data: a length or count is out of range"},
		{func() { _ = idx[1] / idx[2] }, "corrupt data: a size or count of zero where one is needed"},
		{func() { var p *[4]int; _ = p[idx[2]] }, "corrupt data: a required part is missing"},
		{func() { panic(errors.New("bad magic")) }, "corrupt data (decoder failed: bad magic)"},
	} {
		err := catch(c.f)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
			continue
		}
		var re runtime.Error
		if c.want[len(c.want)-1] != ')' && !errors.As(err, &re) {
			t.Errorf("%q does not wrap the runtime error", err)
		}
	}
}
