package fetcher

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// TokenMarker replaces the api_url token in an archived payload.json.
const TokenMarker = "REDACTED-BY-BOLTFETCH"

// RedactPayload returns the payload with the token of every top-level
// api_url replaced by TokenMarker, and every other byte as received. The
// token is the path segment before "/graphql"
// (https://api.paradime.io/api/v1/<token>/graphql); an api_url of another
// shape keeps only its scheme and host, with the marker as its path. User
// information, query and fragment are dropped. A token made only of URL-safe
// letters and digits, at least 8 long, is also replaced wherever else it
// appears in the payload.
//
// The payload must be a JSON object; anything else is an error and nothing
// is returned, so that a caller never archives an unredacted payload by
// mistake.
func RedactPayload(raw []byte) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, fmt.Errorf("redact payload: %w", err)
	}
	if tok.Kind() != '{' {
		return nil, errors.New("redact payload: not a JSON object")
	}
	type span struct {
		start, end int64
		value      []byte
	}
	var (
		spans  []span
		tokens []string
	)
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, fmt.Errorf("redact payload: %w", err)
		}
		if name.String() != "api_url" {
			if err := dec.SkipValue(); err != nil {
				return nil, fmt.Errorf("redact payload: %w", err)
			}
			continue
		}
		val, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("redact payload: %w", err)
		}
		end := dec.InputOffset()
		if val.Kind() != '"' {
			continue // not a URL: nothing there to hide
		}
		var s string
		if err := jsonUnquote(val, &s); err != nil {
			return nil, fmt.Errorf("redact payload: %w", err)
		}
		red, token := redactAPIURL(s)
		quoted, err := jsontext.AppendQuote(nil, red)
		if err != nil {
			return nil, fmt.Errorf("redact payload: %w", err)
		}
		spans = append(spans, span{start: end - int64(len(val)), end: end, value: quoted})
		if token != "" {
			tokens = append(tokens, token)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, fmt.Errorf("redact payload: %w", err)
	}
	if _, err := dec.ReadToken(); err == nil {
		return nil, errors.New("redact payload: data after the JSON object")
	}
	out := make([]byte, 0, len(raw))
	var at int64
	for _, sp := range spans {
		out = append(out, raw[at:sp.start]...)
		out = append(out, sp.value...)
		at = sp.end
	}
	out = append(out, raw[at:]...)
	for _, t := range tokens {
		if len(t) >= 8 && isURLSafeWord(t) {
			out = bytes.ReplaceAll(out, []byte(t), []byte(TokenMarker))
		}
	}
	return out, nil
}

// redactAPIURL returns u with its token replaced, and the token.
func redactAPIURL(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return TokenMarker, ""
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host}
	segs := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	if n := len(segs); n >= 2 && segs[n-1] == "graphql" && segs[n-2] != "" {
		token := segs[n-2]
		segs[n-2] = TokenMarker
		clean.Path = strings.Join(segs, "/")
		return clean.String(), token
	}
	clean.Path = "/" + TokenMarker
	return clean.String(), ""
}

func isURLSafeWord(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// jsonUnquote decodes one JSON string value.
func jsonUnquote(v jsontext.Value, s *string) error {
	d := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowInvalidUTF8(true))
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	*s = tok.String()
	return nil
}
