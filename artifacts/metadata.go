package artifacts

import "github.com/go-json-experiment/json/jsontext"

// metadata is the header both artifacts carry (absent before dbt 0.19).
type metadata struct {
	SchemaURL    string
	DbtVersion   string
	GeneratedAt  string
	InvocationID string
}

func readMetadata(dec *jsontext.Decoder) (metadata, error) {
	var m metadata
	ok, err := expectObject(dec)
	if !ok || err != nil {
		return m, err
	}
	var scratch []byte
	for dec.PeekKind() != '}' {
		name, err := readName(dec, scratch)
		if err != nil {
			return m, err
		}
		var dst *string
		switch string(name) {
		case "dbt_schema_version":
			dst = &m.SchemaURL
		case "dbt_version":
			dst = &m.DbtVersion
		case "generated_at":
			dst = &m.GeneratedAt
		case "invocation_id":
			dst = &m.InvocationID
		default:
			if err := dec.SkipValue(); err != nil {
				return m, err
			}
			continue
		}
		if *dst, err = looseString(dec); err != nil {
			return m, err
		}
	}
	return m, endObject(dec)
}
