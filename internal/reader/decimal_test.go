package reader

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// decimalString writes unscaled × 10^-scale as a plain decimal string.
func decimalString(u *big.Int, scale int32) string {
	s := new(big.Int).Abs(u).String()
	if scale > 0 {
		if len(s) <= int(scale) {
			s = strings.Repeat("0", int(scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	}
	if u.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// twos is u as a big-endian two's complement integer of n bytes.
func twos(u *big.Int, n int) []byte {
	v := new(big.Int).Set(u)
	if v.Sign() < 0 {
		v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return v.FillBytes(make([]byte, n))
}

// TestDecimalRounding compares the decimal conversions with
// strconv.ParseFloat of the decimal string (correctly rounded): int64
// values on both sides of 2^53, scales 0 to 40, 16- and 32-byte values,
// and edge values.
func TestDecimalRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	check := func(u *big.Int, scale int32) {
		t.Helper()
		s := decimalString(u, scale)
		want, err := strconv.ParseFloat(s, 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			t.Fatal(err)
		}
		for _, n := range []int{16, 32} {
			if u.BitLen() < 8*n {
				be := twos(u, n)
				if got := decimalFixed(be, scale); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("decimalFixed(%s, %d bytes) = %v, ParseFloat says %v", s, n, got, want)
				}
				slices.Reverse(be)
				if got := decimalLE(be, scale); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("decimalLE(%s, %d bytes) = %v, ParseFloat says %v", s, n, got, want)
				}
			}
		}
		if u.IsInt64() {
			if got := decimalInt(u.Int64(), scale); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("decimalInt(%s) = %v, ParseFloat says %v", s, got, want)
			}
			if got := decimalFixed(twos(u, 8), scale); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("decimalFixed(%s, 8 bytes) = %v, ParseFloat says %v", s, got, want)
			}
		}
		if u.BitLen() < 32 {
			if got := decimalFixed(twos(u, 4), scale); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("decimalFixed(%s, 4 bytes) = %v, ParseFloat says %v", s, got, want)
			}
		}
	}
	edges := []int64{0, 1, -1, 8, 800, 1 << 53, 1<<53 + 1, -(1 << 53), -(1<<53 + 1), math.MaxInt64, math.MinInt64, 999999999, 123456789012345678}
	for _, e := range edges {
		for scale := int32(0); scale <= 40; scale++ {
			check(big.NewInt(e), scale)
		}
	}
	for range 20000 {
		var u *big.Int
		switch r.IntN(3) {
		case 0:
			u = big.NewInt(r.Int64N(1<<54) - 1<<53)
		case 1:
			u = big.NewInt(int64(r.Uint64()))
		default:
			b := make([]byte, 1+r.IntN(16))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			u = new(big.Int).SetBytes(b)
			u.Rsh(u, 1)
			if r.IntN(2) == 0 {
				u.Neg(u)
			}
		}
		check(u, int32(r.IntN(41)))
	}
	// The largest 32-byte magnitude.
	check(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1)), 38)
	check(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 255)), 38)
}
