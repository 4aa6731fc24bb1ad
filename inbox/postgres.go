package inbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

const pgCreate = `CREATE TABLE IF NOT EXISTS boltfetch_payload (
	run_id      BIGINT PRIMARY KEY,
	job_id      BIGINT NOT NULL,
	payload     BYTEA NOT NULL,
	received_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS boltfetch_payload_job_id ON boltfetch_payload (job_id)`

// pgMigrationLockKey names the session advisory lock that serialises the
// migrations of replicas starting together (arbitrary but fixed).
const pgMigrationLockKey = 7307453620218814211

// pgMigrationLock holds the migration lock on a connection of its own.
func pgMigrationLock(pool *pgxpool.Pool) func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(pgMigrationLockKey)); err != nil {
			conn.Release()
			return nil, err
		}
		return func() {
			conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(pgMigrationLockKey)) //nolint:errcheck // released with the session anyway
			conn.Release()
		}, nil
	}
}

// openPostgres opens (and migrates) the PostgreSQL inbox at cfg.PostgresURL.
func openPostgres(ctx context.Context, cfg Config, w *worker) (*engine[pgx.Tx], error) {
	pcfg, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		// pgx's message may quote the DSN, password included: keep it out.
		return nil, &ConfigError{Problems: []string{"the PostgreSQL URL does not parse"}}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, unavailable(err)
	}
	driver := riverpgxv5.New(pool)
	e := &engine[pgx.Tx]{
		cfg:    cfg,
		driver: driver,
		db:     pgxQ{pool},
		begin: func(ctx context.Context) (pgx.Tx, querier, error) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return nil, nil, unavailable(err)
			}
			return tx, pgxQ{tx}, nil
		},
		commit:   func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
		depthRows: func(ctx context.Context, q string, args ...any) (map[string]int, error) {
			rows, err := pool.Query(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			return groupCount(rows)
		},
		closeDB: func() error { pool.Close(); return nil },
	}
	if err := e.migrate(ctx, pgMigrationLock(pool), pgCreate); err != nil {
		pool.Close()
		return nil, unavailable(err)
	}
	e.client, err = river.NewClient(driver, riverConfig(cfg, w))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return e, nil
}

// pgxQ runs the inbox's own SQL over pgx (a pool or a transaction).
type pgxQ struct {
	x interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (p pgxQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.x.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgxQ) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return pgxRow{p.x.QueryRow(ctx, q, args...)}
}

type pgxRow struct{ r pgx.Row }

func (r pgxRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}
