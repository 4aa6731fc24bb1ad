package safetext

import (
	"reflect"
	"testing"
)

func TestFillStrings(t *testing.T) {
	type inner struct {
		A string
		b string
	}
	type outer struct {
		S    string
		P    *inner
		L    []inner
		M    map[string]int
		N    int
		Strs []string
	}
	var v outer
	FillStrings(reflect.ValueOf(&v), "x")
	if v.S != "x" || v.P == nil || v.P.A != "x" || v.P.b != "" {
		t.Errorf("fields: %+v %+v", v, v.P)
	}
	if len(v.L) != 2 || v.L[0].A != "x" || v.L[1].A != "x" || len(v.Strs) != 2 || v.Strs[1] != "x" {
		t.Errorf("slices: %+v %q", v.L, v.Strs)
	}
	if _, ok := v.M["x"]; !ok || len(v.M) != 1 {
		t.Errorf("map keys: %v", v.M)
	}
}
