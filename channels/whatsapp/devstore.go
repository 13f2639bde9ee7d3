package whatsapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the Postgres store
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
	_ "modernc.org/sqlite" // pure-Go "sqlite" driver: the binary keeps building with CGO_ENABLED=0
)

// ErrNotLinked means the account has no device session: run `lidorub whatsapp link`.
var ErrNotLinked = errors.New("whatsapp account is not linked")

// accountTable maps our account names to whatsmeow device JIDs. It lives in the same database
// as whatsmeow's own tables, so a Postgres store holds several accounts and a backup of the
// store is complete.
const accountTable = `CREATE TABLE IF NOT EXISTS lidorub_whatsapp_account (
	account   TEXT PRIMARY KEY,
	jid       TEXT NOT NULL,
	linked_at BIGINT NOT NULL
)`

// sqliteDSN is the DSN for the pure-Go driver. foreign_keys(1) is required by whatsmeow's
// schema upgrades; WAL and busy_timeout let the event handler and the sender write concurrently.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
}

// deviceDB is one opened database: whatsmeow's container plus our account table.
type deviceDB struct {
	db        *sql.DB
	container *sqlstore.Container
	dialect   string
}

// DeviceStore holds the linked-device sessions of every account: one SQLite file per account
// under a directory, or one Postgres database for all of them.
type DeviceStore struct {
	cfg StoreConfig
	log waLog.Logger

	mu  sync.Mutex
	dbs map[string]*deviceDB // key: account for SQLite, "" for Postgres
}

// OpenDeviceStore prepares the store. Databases are opened (and their schema upgraded) on
// first use of each account.
func OpenDeviceStore(ctx context.Context, cfg StoreConfig, log waLog.Logger) (*DeviceStore, error) {
	if log == nil {
		log = waLog.Noop
	}
	s := &DeviceStore{cfg: cfg, log: log, dbs: map[string]*deviceDB{}}
	if cfg.PostgresURL != "" {
		if _, err := s.open(ctx, ""); err != nil {
			return nil, err
		}
		return s, nil
	}
	// The directory holds session keys: private to the gateway's user.
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("whatsapp store dir: %w", err)
	}
	return s, nil
}

func (s *DeviceStore) postgres() bool { return s.cfg.PostgresURL != "" }

// open returns the database of account, opening and upgrading it on first use.
func (s *DeviceStore) open(ctx context.Context, account string) (*deviceDB, error) {
	key := account
	if s.postgres() {
		key = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dbs[key]; d != nil {
		return d, nil
	}
	var driver, dialect, dsn string
	if s.postgres() {
		driver, dialect, dsn = "pgx", "postgres", s.cfg.PostgresURL
	} else {
		if !ValidAccountName(account) {
			return nil, fmt.Errorf("invalid whatsapp account name %q", account)
		}
		path := filepath.Join(s.cfg.Dir, account+".db")
		// Create the file ourselves so it is not world-readable (SQLite gives the -wal and
		// -shm files the same mode).
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("whatsapp store: %w", err)
		}
		_ = f.Close()
		driver, dialect, dsn = "sqlite", "sqlite", sqliteDSN(path)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("whatsapp store: open %s: %w", dialect, err)
	}
	c := sqlstore.NewWithDB(db, dialect, s.log.Sub("Store"))
	if err := c.Upgrade(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("whatsapp store: upgrade %s schema: %w", dialect, err)
	}
	if _, err := db.ExecContext(ctx, accountTable); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("whatsapp store: create account table: %w", err)
	}
	d := &deviceDB{db: db, container: c, dialect: dialect}
	s.dbs[key] = d
	return d, nil
}

// Queries use $n placeholders, which both SQLite and Postgres understand.

// lookup returns the device JID recorded for account, or false.
func (d *deviceDB) lookup(ctx context.Context, account string) (types.JID, bool, error) {
	var s string
	err := d.db.QueryRowContext(ctx, `SELECT jid FROM lidorub_whatsapp_account WHERE account = $1`, account).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return types.JID{}, false, nil
	}
	if err != nil {
		return types.JID{}, false, fmt.Errorf("whatsapp store: read account: %w", err)
	}
	jid, err := types.ParseJID(s)
	if err != nil {
		return types.JID{}, false, fmt.Errorf("whatsapp store: bad device id for account %q: %w", account, err)
	}
	return jid, true, nil
}

// Device returns account's linked device, or ErrNotLinked (never linked, or logged out: a
// LoggedOut event deletes the device from the store).
func (s *DeviceStore) Device(ctx context.Context, account string) (*store.Device, error) {
	d, err := s.open(ctx, account)
	if err != nil {
		return nil, err
	}
	jid, ok, err := d.lookup(ctx, account)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotLinked
	}
	dev, err := d.container.GetDevice(ctx, jid)
	if err != nil {
		return nil, fmt.Errorf("whatsapp store: load device: %w", err)
	}
	if dev == nil {
		return nil, ErrNotLinked
	}
	return dev, nil
}

// NewDevice returns a fresh, unpaired device for account (used by linking).
func (s *DeviceStore) NewDevice(ctx context.Context, account string) (*store.Device, error) {
	d, err := s.open(ctx, account)
	if err != nil {
		return nil, err
	}
	return d.container.NewDevice(), nil
}

// SetAccount records that account is linked as device jid, replacing an earlier link.
// The previous device of the account, if any, is deleted from the store.
func (s *DeviceStore) SetAccount(ctx context.Context, account string, jid types.JID, at time.Time) error {
	d, err := s.open(ctx, account)
	if err != nil {
		return err
	}
	old, had, err := d.lookup(ctx, account)
	if err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO lidorub_whatsapp_account (account, jid, linked_at) VALUES ($1, $2, $3)
		ON CONFLICT (account) DO UPDATE SET jid = excluded.jid, linked_at = excluded.linked_at`,
		account, jid.String(), at.Unix())
	if err != nil {
		return fmt.Errorf("whatsapp store: save account: %w", err)
	}
	if had && old != jid {
		if dev, err := d.container.GetDevice(ctx, old); err == nil && dev != nil {
			_ = d.container.DeleteDevice(ctx, dev)
		}
	}
	return nil
}

// AccountInfo is one account as the store knows it.
type AccountInfo struct {
	Name     string
	Linked   bool // a device session exists
	LinkedAt time.Time
}

// Accounts returns what the store knows about the named accounts plus, for Postgres, any
// other account recorded in it; sorted by name.
func (s *DeviceStore) Accounts(ctx context.Context, names []string) ([]AccountInfo, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	if s.postgres() {
		d, err := s.open(ctx, "")
		if err != nil {
			return nil, err
		}
		rows, err := d.db.QueryContext(ctx, `SELECT account FROM lidorub_whatsapp_account`)
		if err != nil {
			return nil, fmt.Errorf("whatsapp store: list accounts: %w", err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err == nil {
				want[n] = true
			}
		}
		_ = rows.Close()
	} else {
		matches, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "*.db"))
		for _, m := range matches {
			n := filepath.Base(m)
			n = n[:len(n)-len(".db")]
			if ValidAccountName(n) {
				want[n] = true
			}
		}
	}
	var out []AccountInfo
	for n := range want {
		info := AccountInfo{Name: n}
		d, err := s.open(ctx, n)
		if err != nil {
			return nil, err
		}
		var at int64
		var jid string
		err = d.db.QueryRowContext(ctx, `SELECT jid, linked_at FROM lidorub_whatsapp_account WHERE account = $1`, n).Scan(&jid, &at)
		if err == nil {
			if j, perr := types.ParseJID(jid); perr == nil {
				if dev, gerr := d.container.GetDevice(ctx, j); gerr == nil && dev != nil {
					info.Linked = true
					info.LinkedAt = time.Unix(at, 0).UTC()
				}
			}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("whatsapp store: read account: %w", err)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Close closes every open database.
func (s *DeviceStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for k, d := range s.dbs {
		errs = append(errs, d.db.Close())
		delete(s.dbs, k)
	}
	return errors.Join(errs...)
}
