package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "modernc.org/sqlite" // the SQLite database/sql driver, pure Go
)

// sqliteFile and lockFile are the inbox's files in its data dir.
const (
	sqliteFile = "inbox.db"
	lockFile   = "inbox.lock"
)

const sqliteCreate = `CREATE TABLE IF NOT EXISTS boltfetch_payload (
	run_id      INTEGER PRIMARY KEY,
	job_id      INTEGER NOT NULL,
	payload     BLOB NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS boltfetch_payload_job_id ON boltfetch_payload (job_id)`

// sqliteDSN opens path with the busy timeout first (the pragmas after it
// may wait for a lock), WAL and synchronous=FULL (a commit is on disk
// before Enqueue returns, so an ack survives a power cut), a busy timeout (an
// operator's CLI may write beside the server), immediate transactions (no
// deadlock upgrading a read lock to a write one), and temporary tables and
// indices in memory (SQLite would otherwise spill them to files outside the
// data dir).
func sqliteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(0)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// ownerOnly makes the data dir (created if need be) 0700 and the database
// file at path (created empty if need be) and its -wal and -shm files 0600:
// the database holds raw payloads, whose api_url carries a Paradime token.
// MkdirAll leaves an existing dir's mode alone and SQLite creates its files
// 0644 less the umask, so both are set here; SQLite gives new -wal and -shm
// files the database file's mode.
func ownerOnly(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("inbox data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("inbox data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%w: create %s: %w", ErrUnavailable, sqliteFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: create %s: %w", ErrUnavailable, sqliteFile, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("inbox data dir: %w", err)
		}
	}
	return nil
}

// openSQLite opens (and migrates) the embedded inbox in cfg.DataDir.
func openSQLite(ctx context.Context, cfg Config, w *worker) (*engine[*sql.Tx], error) {
	path := filepath.Join(cfg.DataDir, sqliteFile)
	if err := ownerOnly(cfg.DataDir, path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrUnavailable, sqliteFile, err)
	}
	// SQLite runs one write at a time; River's advice is one connection,
	// which also makes the group commit the only writer.
	db.SetMaxOpenConns(1)
	driver := riversqlite.New(db)
	e := &engine[*sql.Tx]{
		cfg:    cfg,
		driver: driver,
		db:     sqlQ{db},
		begin: func(ctx context.Context) (*sql.Tx, querier, error) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return nil, nil, unavailable(err)
			}
			return tx, sqlQ{tx}, nil
		},
		commit:   func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
		rollback: func(_ context.Context, tx *sql.Tx) error { return tx.Rollback() },
		depthRows: func(ctx context.Context, q string, args ...any) (map[string]int, error) {
			return sqlGroupCount(ctx, db, q, args...)
		},
		closeDB: db.Close,
	}
	if err := migrateSQLite(ctx, e); err != nil {
		db.Close()
		return nil, unavailable(err)
	}
	e.client, err = river.NewClient(driver, riverConfig(cfg, w))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return e, nil
}

// sqliteBusyWait bounds how long migrateSQLite retries a database that is
// locked: as long as the busy timeout of sqliteDSN.
const sqliteBusyWait = 10 * time.Second

// migrateSQLite migrates, retrying while the database is busy. The busy
// timeout covers most waits, but SQLite returns SQLITE_BUSY at once, without
// waiting, in a few states, such as while another connection turns a new
// database to WAL mode: processes opening one new data dir together (a
// server and an operator's CLI) would otherwise fail at random.
func migrateSQLite(ctx context.Context, e *engine[*sql.Tx]) error {
	deadline := time.Now().Add(sqliteBusyWait)
	wait := 5 * time.Millisecond
	for {
		err := e.migrate(ctx, nil, sqliteCreate)
		if err == nil || !sqliteBusy(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// sqliteBusy reports whether err is SQLite's SQLITE_BUSY (with any extended
// code).
func sqliteBusy(err error) bool {
	var ce interface{ Code() int }
	return errors.As(err, &ce) && ce.Code()&0xff == 5
}

// sqlQ runs the inbox's own SQL over database/sql (a pool or a transaction).
type sqlQ struct {
	x interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

// dollar matches $n placeholders, which SQLite spells ?.
var dollar = regexp.MustCompile(`\$[0-9]+`)

func (s sqlQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	r, err := s.x.ExecContext(ctx, dollar.ReplaceAllString(q, "?"), args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (s sqlQ) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return sqlRow{s.x.QueryRowContext(ctx, dollar.ReplaceAllString(q, "?"), args...)}
}

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}

func sqlGroupCount(ctx context.Context, db *sql.DB, q string, args ...any) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, dollar.ReplaceAllString(q, "?"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return groupCount(rows)
}
