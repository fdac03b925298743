package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDatabaseURL(t *testing.T) {
	for _, tc := range []struct {
		in, engine, target string
	}{
		{"", EngineSQLite, "gateway.db"},
		{"sqlite:data/gw.db", EngineSQLite, "data/gw.db"},
		{"sqlite:/var/lib/gw.db", EngineSQLite, "/var/lib/gw.db"},
		{"sqlite:///var/lib/gw.db", EngineSQLite, "/var/lib/gw.db"},
		{"/var/lib/gw.db", EngineSQLite, "/var/lib/gw.db"},
		{"gw.db", EngineSQLite, "gw.db"},
		{"postgres://gw:pw@db:5432/gateway?sslmode=require", EnginePostgres, "postgres://gw:pw@db:5432/gateway?sslmode=require"},
		{"postgresql://gw@db/gateway", EnginePostgres, "postgresql://gw@db/gateway"},
	} {
		engine, target, err := ParseDatabaseURL(tc.in)
		if err != nil || engine != tc.engine || target != tc.target {
			t.Errorf("ParseDatabaseURL(%q) = %q, %q, %v; want %q, %q", tc.in, engine, target, err, tc.engine, tc.target)
		}
	}
	for _, bad := range []string{"mysql://gw:pw@db/x", "postgres:gateway", "postgres://gw:pw@db", "sqlite:", "sqlite://relative.db"} {
		if _, _, err := ParseDatabaseURL(bad); err == nil {
			t.Errorf("ParseDatabaseURL(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("ParseDatabaseURL(%q) error quotes the URL: %v", bad, err)
		}
	}
}

func TestLoadDatabase(t *testing.T) {
	c, err := Load(func(k string) string { return validEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Engine() != EngineSQLite || c.Database.Target() != DefaultDatabasePath || c.Database.IdempotencyRetention != 24*time.Hour {
		t.Fatalf("defaults: engine %q target %q retention %v", c.Database.Engine(), c.Database.Target(), c.Database.IdempotencyRetention)
	}

	env := validEnv()
	env["GATEWAY_DATABASE_URL"] = "postgres://gw:db-password-1@db.internal:5432/gateway"
	env["GATEWAY_IDEMPOTENCY_RETENTION"] = "72h"
	c, err = Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Engine() != EnginePostgres || c.Database.IdempotencyRetention != 72*time.Hour {
		t.Fatalf("engine %q retention %v", c.Database.Engine(), c.Database.IdempotencyRetention)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", c)
	if strings.Contains(buf.String(), "db-password-1") || !strings.Contains(buf.String(), "db.internal") {
		t.Fatalf("database URL logged as: %s", buf.String())
	}

	env["GATEWAY_DATABASE_URL"] = "mysql://gw:db-password-1@db/x"
	env["GATEWAY_IDEMPOTENCY_RETENTION"] = "10s"
	_, err = Load(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_DATABASE_URL") || !strings.Contains(err.Error(), "GATEWAY_IDEMPOTENCY_RETENTION") {
		t.Fatalf("invalid database settings: %v", err)
	}
	if strings.Contains(err.Error(), "db-password-1") {
		t.Fatalf("error reveals the password: %v", err)
	}
}

func TestDevDatabaseURL(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/cache-home")
	t.Setenv("HOME", "/tmp/home")
	u, err := DevDatabaseURL()
	if err != nil {
		t.Fatal(err)
	}
	engine, target, err := ParseDatabaseURL(u)
	if err != nil || engine != EngineSQLite || !strings.Contains(target, "partnerhub-gateway") {
		t.Fatalf("DevDatabaseURL = %q (%q, %q, %v)", u, engine, target, err)
	}
}
