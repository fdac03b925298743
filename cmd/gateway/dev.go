package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// devAudience is the audience the dev issuer's tokens carry.
const devAudience = "gateway"

// devEnv is everything -dev runs beside the gateway: the four vendor
// simulators and a development OIDC issuer, each on its own loopback port.
type devEnv struct {
	Config  config.Config
	issuer  *devoidc.Issuer
	servers []*http.Server
	urls    map[string]string
}

// startDevEnv starts the simulators and the issuer and returns a gateway
// configuration pointing at them. GATEWAY_ADDR is still honoured.
func startDevEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (*devEnv, error) {
	env := &devEnv{urls: map[string]string{}}
	serve := func(name string, h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		env.servers = append(env.servers, srv)
		go func() { _ = srv.Serve(ln) }()
		u := "http://" + ln.Addr().String()
		env.urls[name] = u
		log.Info("dev component listening", "component", name, "url", u)
		return u, nil
	}

	// The issuer must know its own URL before it signs anything, so
	// listen first, then build it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	issuerURL := "http://" + ln.Addr().String()
	env.issuer, err = devoidc.New(issuerURL, devAudience, "roles", devoidc.DevClients)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	isrv := &http.Server{Handler: env.issuer, ReadHeaderTimeout: 5 * time.Second}
	env.servers = append(env.servers, isrv)
	go func() { _ = isrv.Serve(ln) }()
	env.urls["oidc"] = issuerURL
	log.Info("dev component listening", "component", "oidc", "url", issuerURL)

	var errs []error
	must := func(u string, err error) string {
		errs = append(errs, err)
		return u
	}
	gdapURL := must(serve("gdap", gdapsim.New(gdapsim.Options{})))
	bokaURL := must(serve("bokamera", bokamerasim.New(bokamerasim.Options{})))
	crayonURL := must(serve("crayon", crayonsim.New(crayonsim.Options{})))
	dbsyncURL := must(serve("dbsync", dbsyncsim.New(dbsyncsim.Options{})))
	if err := errors.Join(errs...); err != nil {
		env.Close()
		return nil, err
	}

	vendor := func(base string) config.Vendor {
		return config.Vendor{BaseURL: base, Timeout: 2 * time.Second, MaxConcurrent: 128}
	}
	addr := getenv("GATEWAY_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	// The dev database lives in the user's cache directory, so jobs, keys
	// and the audit trail survive a restart; GATEWAY_DATABASE_URL wins.
	dbURL := getenv("GATEWAY_DATABASE_URL")
	if dbURL == "" {
		var err error
		if dbURL, err = config.DevDatabaseURL(); err != nil {
			return nil, err
		}
	}
	if _, _, err := config.ParseDatabaseURL(dbURL); err != nil {
		return nil, fmt.Errorf("GATEWAY_DATABASE_URL %w", err)
	}
	// GATEWAY_CACHE_TTL is honoured too, so load tests can measure the
	// fan-out itself (0) as well as the cached path.
	cache := config.DefaultCache
	if v := getenv("GATEWAY_CACHE_TTL"); v != "" {
		ttl, err := time.ParseDuration(v)
		if err != nil || ttl < 0 {
			return nil, fmt.Errorf("GATEWAY_CACHE_TTL must be a duration such as 5s, or 0 to turn caching off")
		}
		cache.TTL = ttl
	}
	env.Config = config.Config{
		Addr:            addr,
		RequestTimeout:  5 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		OIDCIssuer:      issuerURL,
		OIDCAudience:    devAudience,
		OIDCRolesClaim:  "roles",
		Permissions:     config.DefaultPermissions(),
		Breaker:         upstream.DefaultBreaker,
		// Reads are cached as in production; callers are not rate
		// limited, so a developer's scripts and curl loops just work.
		Cache: cache,
		Retry: config.DefaultRetry,
		GDAP: config.GDAP{Vendor: vendor(gdapURL + "/api/"), PartnerID: simseed.PartnerTenantID,
			Token: config.Secret(gdapsim.DefaultToken)},
		BokaMera: config.BokaMera{Vendor: vendor(bokaURL + "/"), APIKey: config.Secret(bokamerasim.DefaultAPIKey),
			TokenURL: bokaURL + bokamerasim.TokenPath, Username: bokamerasim.DefaultUsername,
			Password: config.Secret(bokamerasim.DefaultPassword), CompanyID: simseed.BokaMeraCompanyID},
		Crayon: config.Crayon{Vendor: vendor(crayonURL + "/"), ClientID: crayonsim.DefaultClientID,
			ClientSecret: config.Secret(crayonsim.DefaultClientSecret), Username: crayonsim.DefaultUsername,
			Password: config.Secret(crayonsim.DefaultPassword), OrganizationID: simseed.CrayonOrganizationID},
		DBSync: config.DBSync{Vendor: vendor(dbsyncURL + dbsyncsim.BasePath), AppKey: config.Secret(dbsyncsim.DefaultAppKey),
			AppToken: config.Secret(dbsyncsim.DefaultAppToken)},
		Database: config.Database{URL: config.Secret(dbURL), IdempotencyRetention: 24 * time.Hour},
	}
	return env, nil
}

// Close stops the simulators and the issuer.
func (e *devEnv) Close() {
	for _, s := range e.servers {
		_ = s.Close()
	}
}

// PrintBanner tells a newcomer how to call the running gateway.
func (e *devEnv) PrintBanner(w io.Writer, addr string) {
	host := addr
	if h, port, err := net.SplitHostPort(addr); err == nil && (h == "" || h == "::" || h == "0.0.0.0") {
		host = "127.0.0.1:" + port
	}
	token, err := e.issuer.Token("dev-admin", 12*time.Hour)
	if err != nil {
		token = "<token>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nGateway running in dev mode on http://%s (simulated vendors, dev OIDC issuer)\n\n", host)
	fmt.Fprintf(&b, "Try it (admin token, valid 12 h):\n\n  curl -s -H 'Authorization: Bearer %s' http://%s/v1/customers\n\n", token, host)
	fmt.Fprintf(&b, "Fresh tokens (clients dev-reader, dev-operator, dev-admin; secret <client>-secret):\n\n")
	fmt.Fprintf(&b, "  curl -s -u dev-reader:dev-reader-secret -d grant_type=client_credentials %s/token\n\n", e.urls["oidc"])
	fmt.Fprintf(&b, "Simulators (inject faults with PUT <url>/_sim/faults, e.g. -d '{\"status\":503}'):\n")
	for _, name := range []string{"gdap", "bokamera", "crayon", "dbsync"} {
		fmt.Fprintf(&b, "  %-9s %s\n", name, e.urls[name])
	}
	fmt.Fprintf(&b, "\nContract: http://%s/openapi.yaml   Metrics: http://%s/metrics\n\n", host, host)
	_, _ = io.WriteString(w, b.String())
}
