// Package flexid is the one decoder of the ids that Paradime's payloads and
// API answers give either as JSON numbers or as JSON strings holding a
// number ("193439", 193439, 193439.0). The fetcher's payload and report ids
// and the client's answers read them through it, so that every part agrees
// on what is an integer id.
package flexid

import (
	"math"
	"strconv"
	"strings"
)

// maxExact is the largest integer a float64 holds exactly: a number written
// with a fraction or an exponent is an id only up to there.
const maxExact = 1 << 53

// Text returns the text of a JSON id as given: the content of a string, or
// the literal of a number. ok is false for any other JSON value (null, an
// object, an array, a boolean) and for invalid JSON.
func Text(raw []byte) (text string, ok bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return "", false
	}
	switch c := s[0]; {
	case c == '"':
		u, err := strconv.Unquote(s)
		if err != nil {
			return "", false
		}
		return u, true
	case c == '-' || (c >= '0' && c <= '9'):
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			var ne *strconv.NumError
			// A number too large for a float64 is still a number.
			if !errorsAsRange(err, &ne) {
				return "", false
			}
		}
		return s, true
	}
	return "", false
}

func errorsAsRange(err error, ne **strconv.NumError) bool {
	e, ok := err.(*strconv.NumError)
	if !ok || e.Err != strconv.ErrRange {
		return false
	}
	*ne = e
	return true
}

// Parse reads the text of an id as an integer: decimal digits with an
// optional sign ("193439", "-1"), or a number with a zero fraction or an
// exponent that stays exact ("193439.0", "1.93439e5"). Surrounding spaces
// are ignored. ok is false for anything else.
func Parse(text string) (n int64, ok bool) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > maxExact {
		return 0, false
	}
	return int64(f), true
}

// Int decodes a JSON id, number or string, as an integer: Parse of Text.
func Int(raw []byte) (int64, bool) {
	t, ok := Text(raw)
	if !ok {
		return 0, false
	}
	return Parse(t)
}
