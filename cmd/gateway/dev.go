package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/devoidc"
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
	// Env is the GATEWAY_* environment that points a gateway at the
	// simulators and the issuer.
	Env     map[string]string
	issuer  *devoidc.Issuer
	servers []*http.Server
	urls    map[string]string
}

// devDefaults are dev mode's own choices where production's defaults do
// not suit a developer's machine; the caller's environment still wins.
func devDefaults() (map[string]string, error) {
	db, err := config.DevDatabaseURL() // survives a restart, unlike a temp dir
	if err != nil {
		return nil, err
	}
	d := map[string]string{
		"GATEWAY_ADDR":             "127.0.0.1:8080",
		"GATEWAY_SHUTDOWN_TIMEOUT": "10s",
		// A developer's scripts and curl loops should just work.
		"GATEWAY_RATE_LIMIT":   "0",
		"GATEWAY_DATABASE_URL": db,
		// Frontend dev servers (Vite, webpack, ...) on this machine.
		"GATEWAY_CORS_ORIGINS": "http://localhost:*,http://127.0.0.1:*",
	}
	for _, v := range []string{"GDAP", "BOKAMERA", "CRAYON", "DBSYNC"} {
		d["GATEWAY_"+v+"_TIMEOUT"] = "2s"
	}
	return d, nil
}

// startDevEnv starts the simulators and the issuer. Whatever it started is
// stopped again when it fails.
func startDevEnv(ctx context.Context, log *slog.Logger) (_ *devEnv, err error) {
	env := &devEnv{urls: map[string]string{}}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	serve := func(name string, ln net.Listener, h http.Handler) string {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		env.servers = append(env.servers, srv)
		go func() { _ = srv.Serve(ln) }()
		u := "http://" + ln.Addr().String()
		env.urls[name] = u
		log.Info("dev component listening", "component", name, "url", u)
		return u
	}
	listen := func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

	// The issuer must know its own URL before it signs anything, so
	// listen first, then build it.
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	if env.issuer, err = devoidc.New("http://"+ln.Addr().String(), devAudience, "roles", devoidc.DevClients); err != nil {
		_ = ln.Close()
		return nil, err
	}
	issuerURL := serve("oidc", ln, env.issuer)

	sims := []struct {
		name string
		h    http.Handler
	}{
		{"gdap", gdapsim.New(gdapsim.Options{Relationships: gdapsim.RelationshipsGraph})}, // the undocumented listing, as Graph objects
		{"bokamera", bokamerasim.New(bokamerasim.Options{})},
		{"crayon", crayonsim.New(crayonsim.Options{})},
		{"dbsync", dbsyncsim.New(dbsyncsim.Options{})},
	}
	for _, sim := range sims {
		ln, err := listen()
		if err != nil {
			return nil, fmt.Errorf("%s simulator: %w", sim.name, err)
		}
		serve(sim.name, ln, sim.h)
	}
	u := env.urls
	env.Env = map[string]string{
		"GATEWAY_OIDC_ISSUER":            issuerURL,
		"GATEWAY_OIDC_AUDIENCE":          devAudience,
		"GATEWAY_OIDC_ROLES_CLAIM":       "roles",
		"GATEWAY_GDAP_BASE_URL":          u["gdap"] + "/api/",
		"GATEWAY_GDAP_PARTNER_ID":        simseed.PartnerTenantID,
		"GATEWAY_GDAP_TOKEN":             gdapsim.DefaultToken,
		"GATEWAY_BOKAMERA_BASE_URL":      u["bokamera"] + "/",
		"GATEWAY_BOKAMERA_API_KEY":       bokamerasim.DefaultAPIKey,
		"GATEWAY_BOKAMERA_TOKEN_URL":     u["bokamera"] + bokamerasim.TokenPath,
		"GATEWAY_BOKAMERA_USERNAME":      bokamerasim.DefaultUsername,
		"GATEWAY_BOKAMERA_PASSWORD":      bokamerasim.DefaultPassword,
		"GATEWAY_BOKAMERA_COMPANY_ID":    simseed.BokaMeraCompanyID,
		"GATEWAY_CRAYON_BASE_URL":        u["crayon"] + "/",
		"GATEWAY_CRAYON_CLIENT_ID":       crayonsim.DefaultClientID,
		"GATEWAY_CRAYON_CLIENT_SECRET":   crayonsim.DefaultClientSecret,
		"GATEWAY_CRAYON_USERNAME":        crayonsim.DefaultUsername,
		"GATEWAY_CRAYON_PASSWORD":        crayonsim.DefaultPassword,
		"GATEWAY_CRAYON_ORGANIZATION_ID": strconv.Itoa(simseed.CrayonOrganizationID),
		"GATEWAY_DBSYNC_BASE_URL":        u["dbsync"] + dbsyncsim.BasePath,
		"GATEWAY_DBSYNC_APP_KEY":         dbsyncsim.DefaultAppKey,
		"GATEWAY_DBSYNC_APP_TOKEN":       dbsyncsim.DefaultAppToken,
	}
	return env, ctx.Err()
}

// Getenv is the environment a dev-mode gateway loads its configuration
// from: the simulators and the issuer always (dev mode means simulated
// vendors, whatever the shell says), then the caller's environment, then
// dev mode's defaults, then config.Load's own.
func (e *devEnv) Getenv(getenv func(string) string) (func(string) string, error) {
	defaults, err := devDefaults()
	if err != nil {
		return nil, err
	}
	return func(name string) string {
		if v, ok := e.Env[name]; ok {
			return v
		}
		if base, ok := strings.CutSuffix(name, "_FILE"); ok {
			if _, isSim := e.Env[base]; isSim {
				return "" // a mounted secret must not shadow the simulator's
			}
			return getenv(name)
		}
		if v := getenv(name); v != "" || getenv(name+"_FILE") != "" {
			return v
		}
		return defaults[name]
	}, nil
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
