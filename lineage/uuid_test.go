package lineage

import "testing"

// TestRunIDIsUUIDv5 pins RunID to RFC 9562's UUIDv5 as Python's uuid.uuid5
// computes it, so that any implementation can recompute boltfetch's ids:
// uuid5(uuid5(NAMESPACE_URL, "https://github.com/boltfetch/boltfetch/lineage"),
// "\x00".join([namespace, run, command, node])).
func TestRunIDIsUUIDv5(t *testing.T) {
	if got := formatUUID(uuidNamespace); got != "ea4d7863-72c4-57c1-856a-8b33b6c25527" {
		t.Errorf("namespace %s", got)
	}
	for _, tc := range []struct{ ns, run, cmd, node, want string }{
		{"paradime://acme", "63187", "", "", "ea721448-7e23-52b4-8968-fef8839eeb78"},
		{"paradime://demo-jaffle", "63187", "193442", "model.capstone_monthly.stg_dim_time", "c8b2d2da-827d-5f71-a188-22f5bde4042d"},
	} {
		if got := RunID(tc.ns, tc.run, tc.cmd, tc.node); got != tc.want {
			t.Errorf("RunID(%q, %q, %q, %q) = %s, want %s", tc.ns, tc.run, tc.cmd, tc.node, got, tc.want)
		}
	}
}
