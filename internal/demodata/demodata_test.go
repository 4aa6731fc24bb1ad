package demodata

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestFilesMatchProvenance checks that every embedded file is the one
// PROVENANCE.md names, byte for byte.
func TestFilesMatchProvenance(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"build-failed.manifest.json":     "f192abeeb7d4b55d61c399f8fcaf0c46e1b931da79118fd771f238248677ea14",
		"build-failed.run_results.json":  "17a5cdd5edae33d57532159d233fe5a67b19a0e9116587fe891f1cb9652ac37b",
		"run-succeeded.manifest.json":    "632936eec00506636cbb8bf874212d69b87d94217b460fce44fc8f2d732e4f0e",
		"run-succeeded.run_results.json": "761161ae638b151fe84f4f6ee2ceabf2f18bd7a14ad316ec5eb6db289b52963a",
	}
	for name, sum := range want {
		got := sha256.Sum256(File(name))
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, PROVENANCE.md says %s", name, got, sum)
		}
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	r := Run()
	if len(r.Commands) != 4 {
		t.Fatalf("%d commands, want 4", len(r.Commands))
	}
	build := r.Commands[3]
	if !strings.Contains(build.Stdout, "ERROR=1 SKIP=13 TOTAL=22") {
		t.Errorf("dbt build stdout does not total 1 error and 13 skips:\n%s", build.Stdout)
	}
	if !strings.Contains(build.Stdout, "ERROR model.capstone_monthly.stg_dim_time") {
		t.Errorf("dbt build stdout lacks the failing model")
	}
	for _, c := range r.Commands {
		for _, res := range c.Resources {
			if len(res.Data) == 0 {
				t.Errorf("command %d resource %d has no data", c.ID, res.ID)
			}
		}
	}
}
