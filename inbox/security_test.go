package inbox

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestSQLiteFilesOwnerOnly: the database holds raw payloads (their api_url
// carries a Paradime token), so the data dir is 0700 and the database and
// its -wal and -shm files 0600, even when the dir and the database existed
// before with looser modes; and SQLite keeps its temporary tables in memory,
// never in files outside the data dir.
func TestSQLiteFilesOwnerOnly(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	for name, loose := range map[string]bool{"new": false, "existing and loose": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			db := filepath.Join(dir, sqliteFile)
			if loose {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(db, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, 0o755); err != nil { // past the umask
					t.Fatal(err)
				}
				if err := os.Chmod(db, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ib := open(t, Config{DataDir: dir})
			enqueue(t, ib, 91, `{"api_url":"https://api.paradime.io/x?token=secret"}`)
			want := map[string]os.FileMode{dir: 0o700, db: 0o600, db + "-wal": 0o600, db + "-shm": 0o600}
			for p, mode := range want {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != mode {
					t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, mode)
				}
			}
			var store int
			if err := ib.b.(*engine[*sql.Tx]).db.queryRow(context.Background(), "PRAGMA temp_store").Scan(&store); err != nil {
				t.Fatal(err)
			}
			if store != 2 {
				t.Errorf("temp_store %d, want 2 (memory)", store)
			}
		})
	}
}
