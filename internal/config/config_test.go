package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validEnv() map[string]string {
	return map[string]string{
		"GATEWAY_OIDC_ISSUER": "https://login.example.com", "GATEWAY_OIDC_AUDIENCE": "gateway",
		"GATEWAY_GDAP_BASE_URL": "https://gdap.example.com/api", "GATEWAY_GDAP_PARTNER_ID": "918c6a1a-339c-43ec-a8ea-e0343eea7e0b",
		"GATEWAY_GDAP_TOKEN":        "gdap-secret-token",
		"GATEWAY_BOKAMERA_BASE_URL": "https://api.bokamera.se/", "GATEWAY_BOKAMERA_API_KEY": "boka-key",
		"GATEWAY_BOKAMERA_TOKEN_URL": "https://identity.bookmore.com/token", "GATEWAY_BOKAMERA_USERNAME": "u",
		"GATEWAY_BOKAMERA_PASSWORD": "boka-password", "GATEWAY_BOKAMERA_COMPANY_ID": "c",
		"GATEWAY_CRAYON_BASE_URL": "https://api.crayon.com/", "GATEWAY_CRAYON_CLIENT_ID": "id",
		"GATEWAY_CRAYON_CLIENT_SECRET": "crayon-secret", "GATEWAY_CRAYON_USERNAME": "u",
		"GATEWAY_CRAYON_PASSWORD": "crayon-password", "GATEWAY_CRAYON_ORGANIZATION_ID": "4703",
		"GATEWAY_DBSYNC_BASE_URL": "https://staging.mydbsync.com/x/", "GATEWAY_DBSYNC_APP_KEY": "dbsync-key",
		"GATEWAY_DBSYNC_APP_TOKEN": "dbsync-token",
	}
}

func TestLoadValidConfig(t *testing.T) {
	c, err := Load(func(k string) string { return validEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.GDAP.BaseURL != "https://gdap.example.com/api/" {
		t.Errorf("base URL not normalised to a trailing slash: %q", c.GDAP.BaseURL)
	}
	if c.Crayon.OrganizationID != 4703 || c.Addr != ":8080" || c.OIDCRolesClaim != "roles" {
		t.Errorf("unexpected values: %+v", c)
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	env := validEnv()
	env["GATEWAY_CRAYON_ORGANIZATION_ID"] = "abc"
	env["GATEWAY_GDAP_TIMEOUT"] = "soon"
	env["GATEWAY_DBSYNC_BASE_URL"] = "ftp://x"
	env["GATEWAY_ROLE_PERMISSIONS"] = "reader=customers:read,everything"
	delete(env, "GATEWAY_OIDC_AUDIENCE")
	_, err := Load(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"GATEWAY_CRAYON_ORGANIZATION_ID", "GATEWAY_GDAP_TIMEOUT", "GATEWAY_DBSYNC_BASE_URL",
		"GATEWAY_OIDC_AUDIENCE", `unknown permission "everything"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestSecretsFromFilesAndRedactedInLogs(t *testing.T) {
	env := validEnv()
	delete(env, "GATEWAY_CRAYON_PASSWORD")
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte("from-file-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["GATEWAY_CRAYON_PASSWORD_FILE"] = path
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Crayon.Password.Reveal() != "from-file-password" {
		t.Fatalf("password from file = %q", c.Crayon.Password.Reveal())
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", c, "crayon", c.Crayon)
	for _, secret := range []string{"from-file-password", "gdap-secret-token", "boka-key", "crayon-secret", "dbsync-token"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("secret %q reached the log: %s", secret, buf.String())
		}
	}
}

// GDAP's client credentials need all four values, the scope included (the
// client refuses to start without it); config says so with the rest, and a
// static token needs none of them.
func TestGDAPClientCredentialsNeedTheScope(t *testing.T) {
	env := validEnv()
	delete(env, "GATEWAY_GDAP_TOKEN")
	env["GATEWAY_GDAP_TOKEN_URL"] = "https://login.microsoftonline.com/t/oauth2/v2.0/token"
	env["GATEWAY_GDAP_CLIENT_ID"] = "client"
	env["GATEWAY_GDAP_CLIENT_SECRET"] = "secret"
	_, err := Load(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "_SCOPE") {
		t.Fatalf("client credentials without a scope: got %v, want an error naming _SCOPE", err)
	}
	env["GATEWAY_GDAP_SCOPE"] = "https://api.partnercenter.microsoft.com/.default"
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("complete client credentials refused: %v", err)
	}
	if c.GDAP.Scope != env["GATEWAY_GDAP_SCOPE"] {
		t.Errorf("scope = %q", c.GDAP.Scope)
	}
}

// The vendor client stack's defaults are config's defaults: an unset
// variable and a zero upstream.Config field mean the same.
func TestVendorDefaultsComeFromUpstream(t *testing.T) {
	c, err := Load(func(k string) string { return validEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.GDAP.MaxConcurrent != 128 || c.GDAP.Timeout.Seconds() != 3 {
		t.Errorf("GDAP defaults = %d concurrent, %v timeout; want 128, 3s", c.GDAP.MaxConcurrent, c.GDAP.Timeout)
	}
	if c.Retry.MaxAttempts != 3 || c.Retry.BackoffBase.Milliseconds() != 50 || c.Retry.BackoffMax.Seconds() != 1 {
		t.Errorf("retry defaults = %+v", c.Retry)
	}
}
