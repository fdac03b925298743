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

	GDAP     GDAP
	BokaMera BokaMera
	Crayon   Crayon
	DBSync   DBSync
}

// LogValue is what start-up logs: no credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.String("oidc_issuer", c.OIDCIssuer),
		slog.String("oidc_audience", c.OIDCAudience),
		slog.String("oidc_roles_claim", c.OIDCRolesClaim),
		slog.Any("gdap", c.GDAP.Vendor),
		slog.Any("bokamera", c.BokaMera.Vendor),
		slog.Any("crayon", c.Crayon.Vendor),
		slog.Any("dbsync", c.DBSync.Vendor),
		slog.Any("cache", c.Cache),
		slog.Any("retry", c.Retry),
		slog.Any("rate_limit", c.RateLimit),
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
	PermReadAudit       = "audit:read"
)

// DefaultPermissions: reader reads, operator also writes, admin does all.
func DefaultPermissions() map[string][]string {
	read := []string{PermReadCustomers, PermReadTenants, PermReadLicenses}
	op := append(append([]string{}, read...), PermWriteAgreements, PermManageLicenses, PermRunSyncs)
	return map[string][]string{
		"reader":   read,
		"operator": op,
		"admin":    append(append([]string{}, op...), PermReadAudit),
	}
}

// Load reads the configuration through getenv and validates it. Defaults are
// filled for everything optional; required values missing are errors.
func Load(getenv func(string) string) (Config, error) {
	l := loader{getenv: getenv}
	c := Config{
		Addr:            l.str("GATEWAY_ADDR", ":8080"),
		RequestTimeout:  l.duration("GATEWAY_REQUEST_TIMEOUT", 5*time.Second),
		ShutdownTimeout: l.duration("GATEWAY_SHUTDOWN_TIMEOUT", 15*time.Second),
		OIDCIssuer:      l.required("GATEWAY_OIDC_ISSUER"),
		OIDCAudience:    l.required("GATEWAY_OIDC_AUDIENCE"),
		OIDCRolesClaim:  l.str("GATEWAY_OIDC_ROLES_CLAIM", "roles"),
		Permissions:     l.permissions("GATEWAY_ROLE_PERMISSIONS"),
		PageTokenKey:    l.secret("GATEWAY_PAGE_TOKEN_KEY", false),
		Breaker:         l.breaker(),
		Cache:           l.cache(),
		Retry:           l.retry(),
		RateLimit:       l.rateLimit(),
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
	if c.GDAP.Token == "" && (c.GDAP.TokenURL == "" || c.GDAP.ClientID == "" || c.GDAP.Secret == "") {
		l.fail("GATEWAY_GDAP_TOKEN or GATEWAY_GDAP_TOKEN_URL, _CLIENT_ID and _CLIENT_SECRET are required")
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
		Timeout:       l.duration("GATEWAY_"+v+"_TIMEOUT", 3*time.Second),
		MaxConcurrent: l.intValue("GATEWAY_"+v+"_MAX_CONCURRENT", 128),
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
