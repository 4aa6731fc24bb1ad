package artifacts

import (
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// analysisFields is Analysis without its methods, so that encoding it does
// not recurse into them.
type analysisFields Analysis

// jsonOptions fix the encoding: map keys (counts) sorted, so that the same
// analysis always gives the same bytes.
var jsonOptions = []json.Options{json.Deterministic(true)}

// MarshalJSONTo writes the analysis to enc as one JSON object, streaming:
// nothing is marshalled to a buffer first. It implements json v2's
// MarshalerTo; the fetcher's report embeds the analysis through it.
func (a *Analysis) MarshalJSONTo(enc *jsontext.Encoder) error {
	return json.MarshalEncode(enc, (*analysisFields)(a), jsonOptions...)
}

// UnmarshalJSONFrom reads an analysis back from its JSON form (json v2's
// UnmarshalerFrom). Unknown keys, from later versions, are ignored; a
// version 1 analysis (no analysis_version) decodes with Version 0.
func (a *Analysis) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return json.UnmarshalDecode(dec, (*analysisFields)(a))
}

// MarshalJSON is MarshalJSONTo for encoding/json.
func (a *Analysis) MarshalJSON() ([]byte, error) {
	return json.Marshal((*analysisFields)(a), jsonOptions...)
}

// UnmarshalJSON is UnmarshalJSONFrom for encoding/json.
func (a *Analysis) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, (*analysisFields)(a))
}

// WriteJSON writes the analysis as indented JSON followed by a newline,
// streaming to w: the form of `boltfetch analyze --format json`.
func (a *Analysis) WriteJSON(w io.Writer) error {
	enc := jsontext.NewEncoder(w, jsontext.Multiline(true), jsontext.WithIndent("  "))
	return a.MarshalJSONTo(enc)
}
