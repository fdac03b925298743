// Package config loads and validates the gateway's configuration from
// GATEWAY_* environment variables. Every problem is reported at once, and
// credentials are held in Secret so they never reach a log line.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/upstream"
)

// Secret is a credential. It prints and logs as a fixed mask.
type Secret string

// LogValue keeps secrets out of structured logs.
func (s Secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("REDACTED")
}

func (s Secret) String() string { return s.LogValue().String() }

// Reveal returns the credential for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Vendor is the part of the configuration every vendor shares.
type Vendor struct {
	BaseURL       string
	Timeout       time.Duration
	MaxConcurrent int
}

// LogValue lists only non-secret fields.
func (v Vendor) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", v.BaseURL), slog.Duration("timeout", v.Timeout),
		slog.Int("max_concurrent", v.MaxConcurrent))
}

// GDAP is the Appxite GDAP configuration.
type GDAP struct {
	Vendor
	PartnerID string
	Token     Secret // a static bearer token, or the client-credentials fields
	TokenURL  string
	ClientID  string
	Secret    Secret
	Scope     string
}

// BokaMera is the BokaMera configuration.
type BokaMera struct {
	Vendor
	APIKey    Secret
	TokenURL  string
	Username  string
	Password  Secret
	CompanyID string
}

// Crayon is the Crayon configuration.
type Crayon struct {
	Vendor
	ClientID       string
	ClientSecret   Secret
	Username       string
	Password       Secret
	OrganizationID int
}

// DBSync is the DBSync configuration.
type DBSync struct {
	Vendor
	AppKey   Secret
	AppToken Secret
}

// Config is the whole gateway configuration.
type Config struct {
	Addr string
	// RequestTimeout is the whole budget of one request; vendor calls get a
	// share of it so there is time left to merge and answer.
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration

	OIDCIssuer     string
	OIDCAudience   string
	OIDCRolesClaim string // "roles", "groups" or a dotted path like "realm_access.roles"
	// OIDCJWKSMinRefresh is the least time between two fetches of the
	// issuer's key set; only an unknown key id causes one.
	OIDCJWKSMinRefresh time.Duration
	// Permissions maps a role to the permissions it grants.
	Permissions map[string][]string

	// PageTokenKey signs page tokens so callers cannot forge them.
	PageTokenKey Secret

	// Breaker tunes every vendor's circuit breaker.
	Breaker upstream.BreakerConfig

	// Cache, Retry and RateLimit are the resilience knobs (resilience.go).
	Cache     Cache
	Retry     Retry
	RateLimit RateLimit
	// CORS lists the browser origins allowed to call the API (cors.go).
	CORS CORS
	// AuthFailures limits failed authentications per client address.
	AuthFailures AuthFailureLimit

	GDAP     GDAP
	BokaMera BokaMera
	Crayon   Crayon
	DBSync   DBSync

	// Database is where sync jobs, idempotency keys and the audit trail
	// are kept.
	Database Database
}

// LogValue is what start-up logs: no credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.String("oidc_issuer", c.OIDCIssuer),
		slog.String("oidc_audience", c.OIDCAudience),
		slog.String("oidc_roles_claim", c.OIDCRolesClaim),
		slog.Duration("oidc_jwks_min_refresh", c.OIDCJWKSMinRefresh),
		slog.Any("gdap", c.GDAP.Vendor),
		slog.Any("bokamera", c.BokaMera.Vendor),
		slog.Any("crayon", c.Crayon.Vendor),
		slog.Any("dbsync", c.DBSync.Vendor),
		slog.Any("database", c.Database),
		slog.Any("cache", c.Cache),
		slog.Any("retry", c.Retry),
		slog.Any("rate_limit", c.RateLimit),
		slog.Any("cors_origins", c.CORS.Origins),
		slog.Any("auth_failures", c.AuthFailures),
	)
}

// Permission names, checked per route.
const (
	PermReadCustomers   = "customers:read"
	PermReadTenants     = "tenants:read"
	PermReadLicenses    = "licenses:read"
	PermWriteAgreements = "agreements:write"
	PermManageLicenses  = "licenses:manage"
	PermRunSyncs        = "syncs:run"
	PermReadSyncs       = "syncs:read"
	PermReadAudit       = "audit:read"
	// PermReadSubscriptions reads Crayon licence subscriptions.
	PermReadSubscriptions = "subscriptions:read"
	// PermOnboardGDAP publishes GDAP templates and moves customers onto
	// GDAP: it grants admin roles in customer tenants, so admin only.
	PermOnboardGDAP = "gdap:onboard"
)

// DefaultPermissions: reader reads, operator also writes, admin does all.
func DefaultPermissions() map[string][]string {
	read := []string{PermReadCustomers, PermReadTenants, PermReadLicenses, PermReadSyncs, PermReadSubscriptions}
	op := append(append([]string{}, read...), PermWriteAgreements, PermManageLicenses, PermRunSyncs)
	return map[string][]string{
		"reader":   read,
		"operator": op,
		"admin":    append(append([]string{}, op...), PermReadAudit, PermOnboardGDAP),
	}
}

// Load reads the configuration through getenv and validates it. Defaults are
// filled for everything optional; required values missing are errors.
func Load(getenv func(string) string) (Config, error) {
	l := loader{getenv: getenv}
	c := Config{
		Addr:               l.str("GATEWAY_ADDR", ":8080"),
		RequestTimeout:     l.duration("GATEWAY_REQUEST_TIMEOUT", 5*time.Second),
		ShutdownTimeout:    l.duration("GATEWAY_SHUTDOWN_TIMEOUT", 15*time.Second),
		OIDCIssuer:         l.required("GATEWAY_OIDC_ISSUER"),
		OIDCAudience:       l.required("GATEWAY_OIDC_AUDIENCE"),
		OIDCRolesClaim:     l.str("GATEWAY_OIDC_ROLES_CLAIM", "roles"),
		OIDCJWKSMinRefresh: l.duration("GATEWAY_OIDC_JWKS_MIN_REFRESH", time.Minute),
		Permissions:        l.permissions("GATEWAY_ROLE_PERMISSIONS"),
		PageTokenKey:       l.secret("GATEWAY_PAGE_TOKEN_KEY", false),
		Breaker:            l.breaker(),
		Cache:              l.cache(),
		Retry:              l.retry(),
		RateLimit:          l.rateLimit(),
		AuthFailures:       l.authFailureLimit(),
		CORS:               l.cors(),
	}
	c.GDAP = GDAP{
		Vendor:    l.vendor("GDAP"),
		PartnerID: l.required("GATEWAY_GDAP_PARTNER_ID"),
		Token:     l.secret("GATEWAY_GDAP_TOKEN", false),
		TokenURL:  l.str("GATEWAY_GDAP_TOKEN_URL", ""),
		ClientID:  l.str("GATEWAY_GDAP_CLIENT_ID", ""),
		Secret:    l.secret("GATEWAY_GDAP_CLIENT_SECRET", false),
		Scope:     l.str("GATEWAY_GDAP_SCOPE", ""),
	}
	// The GDAP client needs the scope with client credentials (an Entra v2
	// token request names one); saying so here reports it with the rest.
	if c.GDAP.Token == "" && (c.GDAP.TokenURL == "" || c.GDAP.ClientID == "" || c.GDAP.Secret == "" || c.GDAP.Scope == "") {
		l.fail("GATEWAY_GDAP_TOKEN or GATEWAY_GDAP_TOKEN_URL, _CLIENT_ID, _CLIENT_SECRET and _SCOPE are required")
	}
	c.BokaMera = BokaMera{
		Vendor:    l.vendor("BOKAMERA"),
		APIKey:    l.secret("GATEWAY_BOKAMERA_API_KEY", true),
		TokenURL:  l.url("GATEWAY_BOKAMERA_TOKEN_URL"),
		Username:  l.required("GATEWAY_BOKAMERA_USERNAME"),
		Password:  l.secret("GATEWAY_BOKAMERA_PASSWORD", true),
		CompanyID: l.required("GATEWAY_BOKAMERA_COMPANY_ID"),
	}
	c.Crayon = Crayon{
		Vendor:         l.vendor("CRAYON"),
		ClientID:       l.required("GATEWAY_CRAYON_CLIENT_ID"),
		ClientSecret:   l.secret("GATEWAY_CRAYON_CLIENT_SECRET", true),
		Username:       l.required("GATEWAY_CRAYON_USERNAME"),
		Password:       l.secret("GATEWAY_CRAYON_PASSWORD", true),
		OrganizationID: l.positiveInt("GATEWAY_CRAYON_ORGANIZATION_ID"),
	}
	c.DBSync = DBSync{
		Vendor:   l.vendor("DBSYNC"),
		AppKey:   l.secret("GATEWAY_DBSYNC_APP_KEY", true),
		AppToken: l.secret("GATEWAY_DBSYNC_APP_TOKEN", true),
	}
	if c.OIDCIssuer != "" {
		l.checkURL("GATEWAY_OIDC_ISSUER", c.OIDCIssuer)
	}
	if c.GDAP.TokenURL != "" {
		l.checkURL("GATEWAY_GDAP_TOKEN_URL", c.GDAP.TokenURL)
	}
	c.Database = l.database()
	if c.OIDCJWKSMinRefresh < time.Second {
		l.fail("GATEWAY_OIDC_JWKS_MIN_REFRESH must be at least 1s")
	}
	if c.RequestTimeout < 100*time.Millisecond {
		l.fail("GATEWAY_REQUEST_TIMEOUT must be at least 100ms")
	}
	return c, errors.Join(l.errs...)
}

type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

// get reads NAME, or the contents of the file named by NAME_FILE (mounted
// secrets), trimmed of surrounding white space.
func (l *loader) get(name string) string {
	if v := strings.TrimSpace(l.getenv(name)); v != "" {
		return v
	}
	path := strings.TrimSpace(l.getenv(name + "_FILE"))
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		l.fail("%s_FILE: %v", name, err)
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (l *loader) str(name, def string) string {
	if v := l.get(name); v != "" {
		return v
	}
	return def
}

func (l *loader) required(name string) string {
	v := l.get(name)
	if v == "" {
		l.fail("%s is required", name)
	}
	return v
}

func (l *loader) secret(name string, required bool) Secret {
	v := l.get(name)
	if v == "" && required {
		l.fail("%s (or %s_FILE) is required", name, name)
	}
	return Secret(v)
}

func (l *loader) url(name string) string {
	v := l.required(name)
	if v != "" {
		l.checkURL(name, v)
	}
	return v
}

func (l *loader) checkURL(name, v string) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail("%s must be an absolute http(s) URL", name)
	}
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := l.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		l.fail("%s must be a positive duration such as 2s or 500ms, got %q", name, v)
		return def
	}
	return d
}

func (l *loader) intValue(name string, def int) int {
	v := l.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		l.fail("%s must be a positive integer, got %q", name, v)
		return def
	}
	return n
}

func (l *loader) positiveInt(name string) int {
	if l.get(name) == "" {
		l.fail("%s is required", name)
		return 0
	}
	return l.intValue(name, 0)
}

func (l *loader) vendor(v string) Vendor {
	base := "GATEWAY_" + v + "_BASE_URL"
	out := Vendor{
		BaseURL:       l.url(base),
		Timeout:       l.duration("GATEWAY_"+v+"_TIMEOUT", upstream.DefaultTimeout),
		MaxConcurrent: l.intValue("GATEWAY_"+v+"_MAX_CONCURRENT", upstream.DefaultMaxConcurrent),
	}
	if out.BaseURL != "" && !strings.HasSuffix(out.BaseURL, "/") {
		out.BaseURL += "/"
	}
	return out
}

// permissions parses "role=perm1,perm2;role2=perm3". Empty: the defaults.
func (l *loader) permissions(name string) map[string][]string {
	v := l.get(name)
	if v == "" {
		return DefaultPermissions()
	}
	known := map[string]bool{}
	for _, ps := range DefaultPermissions() {
		for _, p := range ps {
			known[p] = true
		}
	}
	out := map[string][]string{}
	for _, entry := range strings.Split(v, ";") {
		role, perms, ok := strings.Cut(strings.TrimSpace(entry), "=")
		role = strings.TrimSpace(role)
		if !ok || role == "" {
			l.fail("%s: entry %q is not role=perm,perm", name, entry)
			continue
		}
		for _, p := range strings.Split(perms, ",") {
			p = strings.TrimSpace(p)
			if !known[p] {
				l.fail("%s: unknown permission %q for role %q", name, p, role)
				continue
			}
			out[role] = append(out[role], p)
		}
	}
	return out
}

// breaker reads GATEWAY_BREAKER_* over upstream.DefaultBreaker.
func (l *loader) breaker() upstream.BreakerConfig {
	b := upstream.DefaultBreaker
	b.MinRequests = uint32(l.intValue("GATEWAY_BREAKER_MIN_REQUESTS", int(b.MinRequests)))
	b.Window = l.duration("GATEWAY_BREAKER_WINDOW", b.Window)
	b.OpenFor = l.duration("GATEWAY_BREAKER_OPEN_FOR", b.OpenFor)
	if v := l.get("GATEWAY_BREAKER_FAILURE_RATIO"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > 1 {
			l.fail("GATEWAY_BREAKER_FAILURE_RATIO must be a number in (0, 1], got %q", v)
		} else {
			b.FailureRatio = r
		}
	}
	return b
}

// Store engines a database URL selects.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// DefaultDatabasePath is the embedded database used when
// GATEWAY_DATABASE_URL is unset: a file in the working directory.
const DefaultDatabasePath = "gateway.db"

// Database selects the store engine.
type Database struct {
	// URL is GATEWAY_DATABASE_URL: postgres:// or postgresql:// for
	// PostgreSQL; sqlite:PATH or a plain file path for the embedded
	// engine. A Secret, because it may carry a password.
	URL Secret
	// IdempotencyRetention is how long a write's answer is replayed for
	// a retry with the same Idempotency-Key.
	IdempotencyRetention time.Duration
}

// Engine and Target split URL; the URL was validated by Load.
func (d Database) Engine() string { e, _, _ := ParseDatabaseURL(d.URL.Reveal()); return e }

// Target is the file path (embedded) or the connection URL (PostgreSQL).
func (d Database) Target() string { _, t, _ := ParseDatabaseURL(d.URL.Reveal()); return t }

// LogValue shows the engine and the URL without its password.
func (d Database) LogValue() slog.Value {
	engine, target, err := ParseDatabaseURL(d.URL.Reveal())
	if err != nil {
		return slog.StringValue("invalid")
	}
	if engine == EnginePostgres {
		target = RedactURL(target)
	}
	return slog.GroupValue(slog.String("engine", engine), slog.String("target", target),
		slog.Duration("idempotency_retention", d.IdempotencyRetention))
}

// RedactURL hides the password of a connection URL, in its user part or
// its query.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// ParseDatabaseURL tells the engine a database URL selects and what to
// open: a file path for the embedded engine, the URL itself for
// PostgreSQL. Errors never quote the URL, which may hold a password.
func ParseDatabaseURL(raw string) (engine, target string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return EngineSQLite, DefaultDatabasePath, nil
	}
	scheme, rest, hasScheme := strings.Cut(raw, ":")
	switch {
	case hasScheme && (scheme == "postgres" || scheme == "postgresql"):
		u, err := url.Parse(raw)
		if err != nil || !strings.HasPrefix(rest, "//") {
			return "", "", errors.New("is not a valid postgres://user:password@host:port/database URL")
		}
		if strings.TrimPrefix(u.Path, "/") == "" {
			return "", "", errors.New("names no database (postgres://user:password@host:port/DATABASE)")
		}
		return EnginePostgres, raw, nil
	case hasScheme && scheme == "sqlite":
		// sqlite:relative/path, sqlite:/abs/path or sqlite:///abs/path
		path := rest
		if strings.HasPrefix(path, "//") {
			path = strings.TrimPrefix(path, "//")
			if !strings.HasPrefix(path, "/") {
				return "", "", errors.New("sqlite:// must be followed by an absolute path (sqlite:///var/lib/gateway.db)")
			}
		}
		if path == "" {
			return "", "", errors.New("sqlite: needs a file path (sqlite:gateway.db)")
		}
		return EngineSQLite, path, nil
	case strings.Contains(raw, "://"):
		return "", "", fmt.Errorf("has the unsupported scheme %q (use postgres://, sqlite: or a file path)", scheme)
	}
	return EngineSQLite, raw, nil
}

// DevDatabaseURL is the embedded database -dev uses: a file in the user's
// cache directory, so a restarted dev gateway keeps its data.
func DevDatabaseURL() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the dev database: %w", err)
	}
	return "sqlite:" + filepath.Join(dir, "partnerhub-gateway", DefaultDatabasePath), nil
}

// database reads GATEWAY_DATABASE_URL and GATEWAY_IDEMPOTENCY_RETENTION.
func (l *loader) database() Database {
	d := Database{
		URL:                  Secret(l.str("GATEWAY_DATABASE_URL", "sqlite:"+DefaultDatabasePath)),
		IdempotencyRetention: l.duration("GATEWAY_IDEMPOTENCY_RETENTION", 24*time.Hour),
	}
	if _, _, err := ParseDatabaseURL(d.URL.Reveal()); err != nil {
		l.fail("GATEWAY_DATABASE_URL %v", err)
	}
	// A retry must find the answer longer than a request can take.
	if d.IdempotencyRetention < time.Minute {
		l.fail("GATEWAY_IDEMPOTENCY_RETENTION must be at least 1m, got %s", d.IdempotencyRetention)
	}
	return d
}
