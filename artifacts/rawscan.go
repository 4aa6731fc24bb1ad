package artifacts

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// The functions here walk a JSON value that the decoder has already read and
// validated (by ReadValue), to pick a few members out of a node without
// paying the decoder's per-token cost for the forty-odd members a manifest
// node has. They never index out of bounds on any input, valid or not.

// rawMembers calls fn with each member name (still quoted-free, escapes
// kept) and raw value of the object in v. It stops at the first malformed
// byte.
func rawMembers(v []byte, fn func(name, val []byte)) {
	i := skipWS(v, 0)
	if i >= len(v) || v[i] != '{' {
		return
	}
	i++
	for {
		i = skipWS(v, i)
		if i >= len(v) || v[i] != '"' {
			return
		}
		end := stringEnd(v, i)
		if end < 0 {
			return
		}
		name := v[i+1 : end-1]
		i = skipWS(v, end)
		if i >= len(v) || v[i] != ':' {
			return
		}
		i = skipWS(v, i+1)
		vend := valueEnd(v, i)
		if vend < 0 {
			return
		}
		fn(name, v[i:vend])
		i = skipWS(v, vend)
		if i >= len(v) || v[i] != ',' {
			return
		}
		i++
	}
}

// rawItems calls fn with each item of the array in v.
func rawItems(v []byte, fn func(item []byte)) {
	i := skipWS(v, 0)
	if i >= len(v) || v[i] != '[' {
		return
	}
	i++
	for {
		i = skipWS(v, i)
		if i >= len(v) || v[i] == ']' {
			return
		}
		end := valueEnd(v, i)
		if end < 0 {
			return
		}
		fn(v[i:end])
		i = skipWS(v, end)
		if i >= len(v) || v[i] != ',' {
			return
		}
		i++
	}
}

// rawStrings calls fn with each string item of the array in v, unquoted.
func rawStrings(v []byte, scratch []byte, fn func(s []byte)) {
	rawItems(v, func(item []byte) {
		if len(item) > 0 && item[0] == '"' {
			if s, ok := rawUnquote(item, scratch); ok {
				fn(s)
			}
		}
	})
}

// rawUnquote returns the content of a JSON string, unescaping only when it
// holds a backslash.
func rawUnquote(v []byte, scratch []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true
	}
	s, err := jsontext.AppendUnquote(scratch[:0], v)
	return s, err == nil
}

func skipWS(v []byte, i int) int {
	for i < len(v) {
		switch v[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string starting at v[i] == '"',
// or -1.
func stringEnd(v []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(v[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// The quote is escaped when preceded by an odd run of backslashes.
		n := 0
		for b := j - 1; b > i && v[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// valueEnd returns the index just past the value starting at v[i], or -1.
func valueEnd(v []byte, i int) int {
	if i >= len(v) {
		return -1
	}
	switch v[i] {
	case '"':
		return stringEnd(v, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(v); j++ {
			switch v[j] {
			case '"':
				e := stringEnd(v, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(v) {
			switch v[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}
