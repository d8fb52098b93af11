// Package units reads and writes the sizes, rates and durations every input
// file of drover uses (scenarios, inventories, sweeps), so that "8GiB" or
// "32MiB/s" means one thing everywhere.
package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PageSize is the guest page size used for rates written in pages/s.
const PageSize = 4096

var sizeUnits = map[string]int64{
	"":    1,
	"B":   1,
	"KB":  1e3,
	"kB":  1e3,
	"MB":  1e6,
	"GB":  1e9,
	"TB":  1e12,
	"KiB": 1 << 10,
	"MiB": 1 << 20,
	"GiB": 1 << 30,
	"TiB": 1 << 40,
}

// rateUnit is a rate unit: its factor to bytes/s, or pages when it counts
// guest pages.
type rateUnit struct {
	factor float64
	pages  bool
}

var rateUnits = map[string]rateUnit{
	"":        {factor: 1},
	"B/s":     {factor: 1},
	"KB/s":    {factor: 1e3},
	"kB/s":    {factor: 1e3},
	"MB/s":    {factor: 1e6},
	"GB/s":    {factor: 1e9},
	"TB/s":    {factor: 1e12},
	"KiB/s":   {factor: 1 << 10},
	"MiB/s":   {factor: 1 << 20},
	"GiB/s":   {factor: 1 << 30},
	"TiB/s":   {factor: 1 << 40},
	"bit/s":   {factor: 1.0 / 8},
	"Kbit/s":  {factor: 1e3 / 8},
	"kbit/s":  {factor: 1e3 / 8},
	"Mbit/s":  {factor: 1e6 / 8},
	"Gbit/s":  {factor: 1e9 / 8},
	"Tbit/s":  {factor: 1e12 / 8},
	"bps":     {factor: 1.0 / 8},
	"Kbps":    {factor: 1e3 / 8},
	"kbps":    {factor: 1e3 / 8},
	"Mbps":    {factor: 1e6 / 8},
	"Gbps":    {factor: 1e9 / 8},
	"Tbps":    {factor: 1e12 / 8},
	"pages/s": {pages: true},
	"page/s":  {pages: true},
}

// splitNumber splits "1.5GiB" into "1.5" and "GiB". A space between them is
// allowed. It reports whether the number had a fraction.
func splitNumber(s string) (num, unit string, frac bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", false, errors.New("empty value")
	}
	if s[0] == '-' {
		return "", "", false, errors.New("must not be negative")
	}
	i := 0
	if s[0] == '+' {
		i = 1
	}
	digits := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !frac:
			frac = true
		case c == '_' && digits > 0:
		default:
			goto done
		}
	}
done:
	if digits == 0 {
		return "", "", false, errors.New("must start with a number")
	}
	return strings.ReplaceAll(s[:i], "_", ""), strings.TrimSpace(s[i:]), frac, nil
}

// ParseSize parses a size in bytes: "4096", "256MiB", "4GiB", "1.5GB".
// Units are B, KB (or kB), MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB
// (powers of 1024); a number without unit is bytes and must be whole.
// Fractional results are rounded to the nearest byte.
func ParseSize(s string) (int64, error) {
	num, unit, frac, err := splitNumber(s)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: %v", s, err)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("bad size %q: unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, unit)
	}
	if !frac {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || (n != 0 && mult > math.MaxInt64/n) {
			return 0, fmt.Errorf("bad size %q: too large", s)
		}
		return n * mult, nil
	}
	if unit == "" || unit == "B" {
		return 0, fmt.Errorf("bad size %q: bytes must be a whole number", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: %v", s, err)
	}
	v := math.Round(f * float64(mult))
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("bad size %q: too large", s)
	}
	return int64(v), nil
}

// ParseRate parses a rate and returns bytes per second: "10Gbit/s",
// "100Mbit/s", "1Gbps" (bits, divided by 8), "200MiB/s", "50MB/s" (bytes),
// "1000pages/s" (times pageSize) or a plain number of bytes/s.
func ParseRate(s string, pageSize int64) (float64, error) {
	num, unit, _, err := splitNumber(s)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: %v", s, err)
	}
	u, ok := rateUnits[unit]
	if !ok {
		return 0, fmt.Errorf("bad rate %q: unknown unit %q (use e.g. Gbit/s, Mbps, MB/s, MiB/s or pages/s)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: %v", s, err)
	}
	if u.pages {
		if pageSize <= 0 {
			return 0, fmt.Errorf("bad rate %q: no page size to convert pages", s)
		}
		u.factor = float64(pageSize)
	}
	v := f * u.factor
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("bad rate %q: too large", s)
	}
	return v, nil
}

// ParseDuration parses a Go duration; a bare 0 is allowed.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("bad duration %q: missing unit (write e.g. %ss or %sm)", s, s, s)
		}
		return 0, fmt.Errorf("bad duration %q: use Go syntax such as 300ms, 90s, 5m or 1h30m", s)
	}
	return d, nil
}

// FormatSize writes a size with the largest binary unit that keeps it short:
// 8589934592 is "8GiB", 1610612736 is "1.5GiB".
func FormatSize(n int64) string {
	units := []struct {
		name string
		v    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n >= u.v || -n >= u.v {
			return shortFloat(float64(n)/float64(u.v)) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// FormatRate writes a rate in bytes/s the way the file format reads it.
func FormatRate(r float64) string {
	units := []struct {
		name string
		v    float64
	}{{"GiB/s", 1 << 30}, {"MiB/s", 1 << 20}, {"KiB/s", 1 << 10}}
	for _, u := range units {
		if r >= u.v {
			return shortFloat(r/u.v) + u.name
		}
	}
	return shortFloat(r) + "B/s"
}

// shortFloat writes x with at most two decimals.
func shortFloat(x float64) string {
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}

// ExactSize writes n in the largest binary unit that reads back as exactly
// n with at most three decimals ("8GiB", "1.5GiB", "1000MiB"), else in
// bytes.
func ExactSize(n int64) string {
	for _, u := range []struct {
		name string
		v    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n < u.v {
			continue
		}
		num := FormatFloat(float64(n) / float64(u.v))
		s := num + u.name
		if back, err := ParseSize(s); err == nil && back == n && fewDecimals(num) {
			return s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// ExactRate writes r (bytes/s) so that it reads back as exactly r: in
// bits for network speeds (10Gbit/s), in binary bytes for dirty rates
// (50MiB/s), with at most three decimals, else in bytes/s.
func ExactRate(r float64, bits bool) string {
	type unit struct {
		name string
		v    float64
	}
	cands := []unit{{"GiB/s", 1 << 30}, {"MiB/s", 1 << 20}, {"KiB/s", 1 << 10}}
	if bits {
		cands = []unit{{"Gbit/s", 1e9 / 8}, {"Mbit/s", 1e6 / 8}, {"Kbit/s", 1e3 / 8}}
	}
	if r == 0 {
		return "0" + cands[1].name
	}
	for _, u := range cands {
		if r < u.v {
			continue
		}
		num := FormatFloat(r / u.v)
		s := num + u.name
		if back, err := ParseRate(s, PageSize); err == nil && back == r && fewDecimals(num) {
			return s
		}
	}
	return FormatFloat(r) + "B/s"
}

// fewDecimals reports whether the decimal num has at most three digits
// after the point, so that a person reads it easily.
func fewDecimals(num string) bool {
	i := strings.IndexByte(num, '.')
	return i < 0 || len(num)-i-1 <= 3
}

// FormatFloat is the shortest decimal that reads back as exactly f.
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
