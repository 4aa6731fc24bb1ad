package lineage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// eventSchema validates events against the OpenLineage 2-0-2 spec and the
// facet schemas beside it in shared/openlineage, loaded from the files under
// their $id (no network).
type eventSchema struct {
	event  *jsonschema.Schema
	facets map[string]*jsonschema.Schema // facet name → its facet file's schema
}

// ours are the custom facets this package sends; the core schema checks
// them as BaseFacets.
var ours = map[string]bool{"boltRun": true, "dbtNode": true, "command": true}

var (
	schemaOnce sync.Once
	schemaVal  *eventSchema
	schemaErr  error
)

func loadSchema(t testing.TB) *eventSchema {
	t.Helper()
	dir := sharedtest.Dir(t, "openlineage")
	schemaOnce.Do(func() { schemaVal, schemaErr = compileSchemas(dir) })
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schemaVal
}

func compileSchemas(dir string) (*eventSchema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noNetwork{})
	files, _ := filepath.Glob(filepath.Join(dir, "facets", "*.json"))
	files = append(files, filepath.Join(dir, "OpenLineage.json"))
	type facetFile struct {
		id    string
		names []string
	}
	var facetFiles []facetFile
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		var head struct {
			ID         string                     `json:"$id"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, err
		}
		if err := c.AddResource(head.ID, doc); err != nil {
			return nil, err
		}
		if strings.Contains(f, "facets") {
			ff := facetFile{id: head.ID}
			for name := range head.Properties {
				ff.names = append(ff.names, name)
			}
			facetFiles = append(facetFiles, ff)
		}
	}
	s := &eventSchema{facets: map[string]*jsonschema.Schema{}}
	var err error
	if s.event, err = c.Compile("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"); err != nil {
		return nil, err
	}
	for _, ff := range facetFiles {
		sch, err := c.Compile(ff.id)
		if err != nil {
			return nil, err
		}
		for _, n := range ff.names {
			s.facets[n] = sch
		}
	}
	return s, nil
}

type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, os.ErrNotExist
}

// validate checks one event line: the event against RunEvent, and every
// facet map against the facet schemas that define its facets. A facet that
// is neither an OpenLineage facet with a schema here nor one of ours fails.
func (s *eventSchema) validate(line []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return err
	}
	if err := s.event.Validate(v); err != nil {
		return err
	}
	ev := v.(map[string]any)
	var maps []any
	for _, k := range []string{"run", "job"} {
		if o, ok := ev[k].(map[string]any); ok {
			maps = append(maps, o["facets"])
		}
	}
	for _, k := range []string{"inputs", "outputs"} {
		list, _ := ev[k].([]any)
		for _, d := range list {
			if o, ok := d.(map[string]any); ok {
				maps = append(maps, o["facets"], o["inputFacets"], o["outputFacets"])
			}
		}
	}
	for _, m := range maps {
		fm, ok := m.(map[string]any)
		if !ok {
			continue
		}
		for name := range fm {
			sch, ok := s.facets[name]
			if !ok {
				if ours[name] {
					continue
				}
				return &unknownFacet{name}
			}
			if err := sch.Validate(map[string]any{name: fm[name]}); err != nil {
				return err
			}
		}
	}
	return nil
}

type unknownFacet struct{ name string }

func (e *unknownFacet) Error() string {
	return "facet " + e.name + " has no schema in shared/openlineage"
}

// TestSchemaRejects makes sure the validator can fail: a facet missing a
// required field, a bad run id and an unknown facet are all refused.
func TestSchemaRejects(t *testing.T) {
	s := loadSchema(t)
	good := `{"eventTime":"2023-10-15T16:44:01Z","eventType":"FAIL","producer":"https://x.test/p","schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent","run":{"runId":"0b5c4d2e-0000-5000-8000-000000000000","facets":{"errorMessage":{"_producer":"https://x.test/p","_schemaURL":"https://x.test/s","message":"boom","programmingLanguage":"SQL"}}},"job":{"namespace":"n","name":"j"}}`
	if err := s.validate([]byte(good)); err != nil {
		t.Fatalf("a valid event was refused: %v", err)
	}
	for name, bad := range map[string]string{
		"errorMessage without programmingLanguage": strings.Replace(good, `,"programmingLanguage":"SQL"`, "", 1),
		"run id not a uuid":                        strings.Replace(good, `0b5c4d2e-0000-5000-8000-000000000000`, "run-1", 1),
		"event time not a date-time":               strings.Replace(good, `2023-10-15T16:44:01Z`, "yesterday", 1),
		"unknown facet":                            strings.Replace(good, `"errorMessage"`, `"mystery"`, 1),
		"no job":                                   strings.Replace(good, `,"job":{"namespace":"n","name":"j"}`, "", 1),
	} {
		if err := s.validate([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
