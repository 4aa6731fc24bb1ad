package client

import (
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// responseTarget says what to keep of a GraphQL answer, and records what
// was found. Either v receives the value of data[key], decoded as it
// streams, or (raw) the whole data value is kept.
type responseTarget struct {
	key string // the root field's response key (its alias, if any)
	v   any    // a pointer; nil with raw
	raw bool   // keep data as JSON (Exec)

	data  bool           // data was present and not null
	found bool           // data[key] was present and not null
	value jsontext.Value // data, when raw
}

// gqlResponse is what decodeResponse found besides the target's value.
type gqlResponse struct {
	errors   []string // the messages of the errors array
	valueErr error    // data[key] did not fit the target type
}

// decodeOptions read outside text leniently where encoding/json would:
// invalid UTF-8 is replaced, and names match case-insensitively.
var decodeOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true), json.MatchCaseInsensitiveNames(true))

// decodeResponse reads a GraphQL answer in one streaming pass: the values
// other than data[key] and the errors' messages are skipped, never copied,
// and data[key] is decoded straight into t.v. A syntax error is returned; a
// value of the wrong shape is recorded in res.valueErr (the errors array,
// which may come after it, explains it better).
func decodeResponse(r io.Reader, t *responseTarget, res *gqlResponse) error {
	dec := jsontext.NewDecoder(r, decodeOptions)
	if err := expectDelim(dec, '{', "the response"); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		switch name.String() {
		case "data":
			if err := decodeData(dec, t, res); err != nil {
				return err
			}
		case "errors":
			if dec.PeekKind() == 'n' {
				if _, err := dec.ReadToken(); err != nil {
					return err
				}
				continue
			}
			var errs []struct {
				Message string `json:"message"`
			}
			if err := json.UnmarshalDecode(dec, &errs, decodeOptions); err != nil {
				return fmt.Errorf("the errors array: %w", err)
			}
			for _, e := range errs {
				res.errors = append(res.errors, e.Message)
			}
			if len(errs) > 0 && len(res.errors) == 0 {
				res.errors = []string{""}
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	_, err := dec.ReadToken()
	return err
}

func decodeData(dec *jsontext.Decoder, t *responseTarget, res *gqlResponse) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return err
	case '{':
	default:
		if err := dec.SkipValue(); err != nil {
			return err
		}
		res.valueErr = errors.New("data is not an object")
		return nil
	}
	t.data = true
	if t.raw {
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		t.value = v.Clone()
		return nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if name.String() != t.key || dec.PeekKind() == 'n' {
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		t.found = true
		if err := json.UnmarshalDecode(dec, t.v, decodeOptions); err != nil {
			var se *json.SemanticError
			if !errors.As(err, &se) {
				return err
			}
			res.valueErr = err
		}
	}
	_, err := dec.ReadToken()
	return err
}

func expectDelim(dec *jsontext.Decoder, want byte, what string) error {
	if k := dec.PeekKind(); k != jsontext.Kind(want) {
		if k == 0 {
			_, err := dec.ReadToken()
			return err
		}
		return fmt.Errorf("%s is not a JSON object", what)
	}
	_, err := dec.ReadToken()
	return err
}
