package whatsapp

import (
	"context"
	"errors"
	"os"
	"testing"

	"go.mau.fi/whatsmeow/types"
)

// TestPostgresStore runs against the Postgres named by WHATSAPP_TEST_POSTGRES_URL (an empty
// database it may write to). It is skipped without it: Postgres is optional, SQLite is the default.
func TestPostgresStore(t *testing.T) {
	url := os.Getenv("WHATSAPP_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("WHATSAPP_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	open := func() *DeviceStore {
		s, err := OpenDeviceStore(ctx, StoreConfig{PostgresURL: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s := open()
	acct := "pgtest-"
	if _, err := s.Device(ctx, acct); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("fresh: %v", err)
	}
	// Two accounts in one database, each its own device.
	jids := map[string]types.JID{acct + "a": types.NewADJID("4930111111111", 0, 7), acct + "b": types.NewADJID("4930222222222", 0, 9)}
	for name, jid := range jids {
		dev, err := s.NewDevice(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		simulatePair(t, dev, jid)
		if err := s.SetAccount(ctx, name, jid, t0); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	s = open() // the upgrade is a no-op the second time
	list, err := s.Accounts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	linked := 0
	for _, a := range list {
		if jids[a.Name] != (types.JID{}) && a.Linked {
			linked++
		}
	}
	if linked != 2 {
		t.Fatalf("accounts %+v", list)
	}
	for name, jid := range jids {
		dev, err := s.Device(ctx, name)
		if err != nil || *dev.ID != jid {
			t.Fatalf("%s: %v %v", name, dev, err)
		}
		if err := dev.Delete(ctx); err != nil { // leave the database as found
			t.Fatal(err)
		}
		if _, err := s.dbs[""].db.ExecContext(ctx, `DELETE FROM lidorub_whatsapp_account WHERE account = $1`, name); err != nil {
			t.Fatal(err)
		}
	}
}
