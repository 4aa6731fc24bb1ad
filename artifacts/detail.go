package artifacts

import (
	"bytes"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// detail is what the analysis reports of a manifest node (or of the node
// embedded in a pre-0.19 result). It is decoded only for reported nodes.
type detail struct {
	UniqueID         string
	ResourceType     string
	Name             string
	PackageName      string
	OriginalFilePath string
	Path             string
	RelationName     string
	Database         string
	Schema           string
	Alias            string
	CompiledCode     string
	// CompiledCodeTruncated: CompiledCode was cut to MaxCompiledCodeBytes.
	CompiledCodeTruncated bool
	CompiledPath          string
	DependsOn             []string
	Tags                  []string
	Owner                 string
	AttachedNode          string
	ColumnName            string
	TestName              string
	Severity              string
	Model                 string // unit tests: the name of the model tested
}

// parseDetail decodes the fields the report needs from one node object. It
// never fails: a field of an unexpected type is left empty, so one odd node
// cannot fail an analysis. Compiled code is kept only when keepCode (not for
// a skipped node), and bounded to MaxCompiledCodeBytes.
func parseDetail(v jsontext.Value, keepCode bool) *detail {
	d := &detail{}
	dec := valueDecoder(v)
	_ = d.decode(dec, keepCode)
	putDecoder(dec)
	return d
}

// decoders are reused: a reported node is decoded whole, and a fresh
// decoder each time was most of the analysis' garbage.
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewBuffer(nil), decoderOptions...) }}

// noInput is what a pooled decoder points at, so that the pool does not
// keep the last node decoded alive. It is never read.
var noInput = new(bytes.Buffer)

// putDecoder returns a decoder from valueDecoder to the pool.
func putDecoder(dec *jsontext.Decoder) {
	dec.Reset(noInput, decoderOptions...)
	decoders.Put(dec)
}

// valueDecoder returns a pooled decoder reading v in place: jsontext reads a
// *bytes.Buffer without copying it. Give it back with putDecoder.
func valueDecoder(v []byte) *jsontext.Decoder {
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(bytes.NewBuffer(v), decoderOptions...)
	return dec
}

func (d *detail) decode(dec *jsontext.Decoder, keepCode bool) error {
	ok, err := expectObject(dec)
	if !ok || err != nil {
		return err
	}
	var (
		scratch                          []byte
		compiledCode, compiledSQL, injSQ string
		metaOwner, configOwner           string
	)
	for dec.PeekKind() != '}' {
		name, err := readName(dec, scratch)
		if err != nil {
			return err
		}
		switch string(name) {
		case "unique_id":
			d.UniqueID, err = looseString(dec)
		case "resource_type":
			d.ResourceType, err = looseString(dec)
		case "name":
			d.Name, err = looseString(dec)
		case "package_name":
			d.PackageName, err = looseString(dec)
		case "original_file_path":
			d.OriginalFilePath, err = looseString(dec)
		case "path":
			d.Path, err = looseString(dec)
		case "relation_name":
			d.RelationName, err = looseString(dec)
		case "database":
			d.Database, err = looseString(dec)
		case "schema":
			d.Schema, err = looseString(dec)
		case "alias":
			d.Alias, err = looseString(dec)
		case "compiled_code", "compiled_sql", "injected_sql":
			if !keepCode {
				err = dec.SkipValue()
				break
			}
			switch string(name) {
			case "compiled_code":
				compiledCode, err = looseString(dec)
			case "compiled_sql":
				compiledSQL, err = looseString(dec)
			default:
				injSQ, err = looseString(dec)
			}
		case "compiled_path":
			d.CompiledPath, err = looseString(dec)
		case "depends_on":
			err = objectMembers(dec, func(name []byte) error {
				if string(name) == "nodes" {
					var e error
					d.DependsOn, e = looseStrings(dec)
					return e
				}
				return dec.SkipValue()
			})
		case "tags":
			d.Tags, err = looseStrings(dec)
		case "meta":
			metaOwner, err = readOwner(dec)
		case "config":
			err = objectMembers(dec, func(name []byte) error {
				switch string(name) {
				case "meta":
					var e error
					configOwner, e = readOwner(dec)
					return e
				case "severity":
					var e error
					d.Severity, e = looseString(dec)
					return e
				}
				return dec.SkipValue()
			})
		case "attached_node":
			d.AttachedNode, err = looseString(dec)
		case "column_name":
			d.ColumnName, err = looseString(dec)
		case "test_metadata":
			err = objectMembers(dec, func(name []byte) error {
				if string(name) == "name" {
					var e error
					d.TestName, e = looseString(dec)
					return e
				}
				return dec.SkipValue()
			})
		case "model":
			d.Model, err = looseString(dec)
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	d.CompiledCode, d.CompiledCodeTruncated = boundCode(firstNonEmpty(compiledCode, compiledSQL, injSQ))
	d.Owner = firstNonEmpty(metaOwner, configOwner)
	return endObject(dec)
}

// readOwner reads meta.owner from a meta object. An owner list is joined
// with ", ".
func readOwner(dec *jsontext.Decoder) (string, error) {
	var owner string
	err := objectMembers(dec, func(name []byte) error {
		if string(name) != "owner" {
			return dec.SkipValue()
		}
		list, err := looseStrings(dec)
		owner = strings.Join(list, ", ")
		return err
	})
	return owner, err
}

// objectMembers calls fn with each member name of the object that comes
// next; fn must consume the member's value. A non-object value is skipped.
func objectMembers(dec *jsontext.Decoder, fn func(name []byte) error) error {
	ok, err := expectObject(dec)
	if !ok || err != nil {
		return err
	}
	var scratch []byte
	for dec.PeekKind() != '}' {
		name, err := readName(dec, scratch)
		if err != nil {
			return err
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	return endObject(dec)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
