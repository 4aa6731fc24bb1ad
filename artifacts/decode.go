package artifacts

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// decoderOptions trades strictness we do not need for speed and leniency:
// checking duplicate names would keep a set of every node id in memory, and
// a stray invalid UTF-8 byte in a SQL comment must not fail a whole run.
var decoderOptions = []jsontext.Options{
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
}

// looseString reads the next value as text: a string as itself, a number or
// boolean as its JSON text, null (and objects and arrays, which are skipped)
// as "".
func looseString(dec *jsontext.Decoder) (string, error) {
	switch dec.PeekKind() {
	case '{', '[':
		return "", dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return "", err
	}
	switch tok.Kind() {
	case '"', '0', 't', 'f':
		return validUTF8(tok.String()), nil
	}
	return "", nil
}

// validUTF8 replaces each invalid UTF-8 byte of s with U+FFFD. The readers
// accept a stray invalid byte (in a SQL comment, say) rather than fail a
// run, but every string the analysis holds is valid UTF-8, so that its JSON
// is valid JSON and decodes back.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// looseValueString is looseString for a raw value already read.
func looseValueString(v jsontext.Value) string {
	switch v.Kind() {
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			return validUTF8(string(v[1 : len(v)-1]))
		}
		b, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return ""
		}
		return validUTF8(string(b))
	case '0', 't', 'f':
		return string(v)
	}
	return ""
}

// looseFailures reads dbt's "failures": an int, null or, in hand-edited
// files, a string (numeric or not). A non-numeric value comes back as text.
func looseFailures(dec *jsontext.Decoder) (*int64, string, error) {
	switch dec.PeekKind() {
	case '{', '[':
		return nil, "", dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, "", err
	}
	switch tok.Kind() {
	case '0':
		if n, err := tok.Int(); err == nil {
			return &n, "", nil
		}
		f, _ := tok.Float()
		n := int64(f)
		return &n, "", nil
	case '"':
		s := tok.String()
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return &n, "", nil
		}
		return nil, s, nil
	case 't':
		n := int64(1)
		return &n, "", nil
	case 'f':
		n := int64(0)
		return &n, "", nil
	}
	return nil, "", nil
}

// looseFloat reads a number (or a numeric string); anything else is 0.
func looseFloat(dec *jsontext.Decoder) (float64, error) {
	s, err := looseString(dec)
	if err != nil || s == "" {
		return 0, err
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f, nil
}

// looseStrings reads an array of strings, or a single string as a one-item
// list (dbt 0.19 allowed `tags: "nightly"`). Other items are skipped.
func looseStrings(dec *jsontext.Decoder) ([]string, error) {
	if dec.PeekKind() != '[' {
		s, err := looseString(dec)
		if err != nil || s == "" {
			return nil, err
		}
		return []string{s}, nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	var out []string
	for dec.PeekKind() != ']' {
		s, err := looseString(dec)
		if err != nil {
			return nil, err
		}
		if s != "" {
			out = append(out, s)
		}
	}
	_, err := dec.ReadToken()
	return out, err
}

// readName reads an object member name as raw bytes, without allocating when
// it holds no escapes. The slice is valid until the next read.
func readName(dec *jsontext.Decoder, scratch []byte) ([]byte, error) {
	v, err := dec.ReadValue()
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	return jsontext.AppendUnquote(scratch[:0], v)
}

// expectObject reads the opening brace of an object, or skips a value of
// any other kind and reports false.
func expectObject(dec *jsontext.Decoder) (bool, error) {
	if dec.PeekKind() != '{' {
		return false, dec.SkipValue()
	}
	_, err := dec.ReadToken()
	return err == nil, err
}

// endObject consumes the closing brace after the loop over members.
func endObject(dec *jsontext.Decoder) error {
	_, err := dec.ReadToken()
	return err
}

// schemaVersion extracts "v12" from
// "https://schemas.getdbt.com/dbt/manifest/v12.json", or returns the text as
// it is when it does not look like that.
func schemaVersion(url string) string {
	s := url
	if i := bytes.LastIndexByte([]byte(s), '/'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 5 && s[len(s)-5:] == ".json" {
		s = s[:len(s)-5]
	}
	return s
}
