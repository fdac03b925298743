package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/buildinfo"
	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/handlers"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/telemetry"
	"github.com/partnerhub/gateway/internal/upstream/dbsync"
)

// closers are what run has opened, closed in reverse order when it
// returns, whether it served or failed half-way through start-up.
type closers []func()

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c *closers) close() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
}

type flags struct{ dev, version bool }

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.dev, "dev", false, "run with built-in vendor simulators and a development OIDC issuer")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	return f, fs.Parse(args[1:])
}

// printVersion answers -version, or passes a flag error on.
func printVersion(f flags, err error, stdout io.Writer) error {
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, "gateway", buildinfo.Version, buildinfo.Revision)
	return err
}

// newLogger logs JSON; lines logged within a request carry its trace_id
// and span_id.
func newLogger(stderr io.Writer) *slog.Logger {
	return slog.New(telemetry.LogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

// loadConfig loads the configuration; with -dev it first starts the
// simulators and the issuer and overlays their environment (dev.go). The
// banner is nil outside dev mode.
func loadConfig(ctx context.Context, dev bool, getenv func(string) string, log *slog.Logger, stdout io.Writer, cleanup *closers) (config.Config, func(addr string), error) {
	var banner func(addr string)
	if dev {
		env, err := startDevEnv(ctx, log)
		if err != nil {
			return config.Config{}, nil, fmt.Errorf("starting dev environment: %w", err)
		}
		cleanup.add(env.Close)
		if getenv, err = env.Getenv(getenv); err != nil {
			return config.Config{}, nil, fmt.Errorf("dev environment: %w", err)
		}
		banner = func(addr string) { env.PrintBanner(stdout, addr) }
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("invalid configuration (see README, Configuration):\n%w", err)
	}
	log.Info("configuration loaded", "dev", dev, "version", buildinfo.Version, "config", cfg)
	return cfg, banner, nil
}

// startTracing sets up span export (OTEL_* variables); the spans still
// buffered are exported, within a bound, when run returns.
func startTracing(ctx context.Context, getenv func(string) string, log *slog.Logger, cleanup *closers) (*telemetry.Tracing, error) {
	tracing, err := telemetry.Setup(ctx, getenv, buildinfo.Version)
	if err != nil {
		return nil, fmt.Errorf("tracing (OTEL_* variables): %w", err)
	}
	cleanup.add(func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("exporting the last spans failed", "error", err.Error())
		}
	})
	log.Info("tracing", "otlp_endpoint", cmp.Or(tracing.Endpoint, "off"))
	return tracing, nil
}

// newRegistry is the /metrics registry with the process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector())
	return reg
}

// background is a context that ends when run returns, not at the signal.
func background(ctx context.Context, cleanup *closers) context.Context {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cleanup.add(cancel)
	return bg
}

// newVerifier checks bearer tokens; it keeps bg for JWKS refreshes.
func newVerifier(bg context.Context, cfg config.Config, reg prometheus.Registerer) (*auth.Verifier, error) {
	return auth.NewVerifier(bg, auth.Config{
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Issuer:     cfg.OIDCIssuer, Audience: cfg.OIDCAudience, RolesClaim: cfg.OIDCRolesClaim,
		Permissions: cfg.Permissions, JWKSMinRefresh: cfg.OIDCJWKSMinRefresh, Registerer: reg,
	})
}

// edge is the middleware in front of the routes; nil parts are off.
type edge struct {
	rateLimit    func(http.Handler) http.Handler
	cors         func(http.Handler) http.Handler
	authFailures *middleware.AuthFailureLimiter
	metrics      *middleware.Metrics
}

func newEdge(cfg config.Config, reg prometheus.Registerer) (edge, error) {
	var e edge
	var err error
	if e.rateLimit, err = newRateLimit(cfg.RateLimit, reg); err != nil {
		return e, err
	}
	if e.cors, err = newCORS(cfg.CORS); err != nil {
		return e, err
	}
	if e.authFailures, err = newAuthFailureLimit(cfg.AuthFailures, reg); err != nil {
		return e, err
	}
	e.metrics, err = middleware.NewMetrics(reg)
	return e, err
}

// newRateLimit builds the per-subject rate limiter; nil when it is off.
func newRateLimit(c config.RateLimit, reg prometheus.Registerer) (func(http.Handler) http.Handler, error) {
	if !c.Enabled() {
		return nil, nil
	}
	rl, err := middleware.NewRateLimiter(middleware.RateLimitConfig{PerSecond: c.PerSecond, Burst: c.Burst}, reg)
	if err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	return rl.Middleware, nil
}

// newCORS builds the CORS middleware; nil when no origin is configured.
func newCORS(c config.CORS) (func(http.Handler) http.Handler, error) {
	if !c.Enabled() {
		return nil, nil
	}
	cors, err := middleware.CORS(middleware.CORSConfig{Origins: c.Origins, MaxAge: c.MaxAge})
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: GATEWAY_CORS_ORIGINS: %w", err)
	}
	return cors, nil
}

// newAuthFailureLimit builds the per-address limit on failed
// authentications; nil when it is off.
func newAuthFailureLimit(c config.AuthFailureLimit, reg prometheus.Registerer) (*middleware.AuthFailureLimiter, error) {
	if !c.Enabled() {
		return nil, nil
	}
	return middleware.NewAuthFailureLimiter(middleware.AuthFailureConfig{
		PerSecond: c.PerSecond, Burst: c.Burst, TrustedProxies: c.TrustedProxies}, reg)
}

// openDatabase opens the store that keeps sync jobs, idempotency keys and
// the audit trail, and purges expired keys in the background. Reads never
// need it; writes refuse (503) when it is down.
func openDatabase(ctx, bg context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger, cleanup *closers) (store.Store, error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	cleanup.add(func() {
		if err := db.Close(); err != nil {
			log.Error("closing the database", "error", err.Error())
		}
	})
	log.Info("database ready", "database", cfg.Database)
	reg.MustRegister(newStoreUp(db))
	purgeCtx, stopPurge := context.WithCancel(bg)
	cleanup.add(stopPurge) // before db.Close
	go purgeLoop(purgeCtx, db, log)
	return db, nil
}

// jobs are the sync and GDAP onboarding jobs.
type jobs struct {
	syncs      *syncjobs.Service
	onboarding onboardingJobs
}

func newJobs(cfg config.Config, db store.Store, v *vendors, log *slog.Logger, cleanup *closers) (jobs, error) {
	syncs, err := syncjobs.New(syncjobs.Config{
		Store: db, GDAP: v.gdap, BokaMera: v.bokamera, Log: log,
		PartnerID: cfg.GDAP.PartnerID, BokaMeraCompanyID: cfg.BokaMera.CompanyID,
		// Longer than any request, so only a start that truly died is given up.
		StartTimeout: max(2*time.Minute, 4*cfg.RequestTimeout),
	})
	if err != nil {
		return jobs{}, err
	}
	onboarding, err := newOnboarding(db, v, log, cfg.ShutdownTimeout)
	if err != nil {
		return jobs{}, err
	}
	cleanup.add(onboarding.stop) // before db.Close
	return jobs{syncs: syncs, onboarding: onboarding}, nil
}

// startSnapshots starts the background refresher of the customer and
// tenant lists; nil when snapshots are off.
func startSnapshots(bg context.Context, v *vendors, cfg config.Config, log *slog.Logger) *aggregate.Snapshots {
	snaps := v.snapshots(cfg, log)
	if snaps != nil {
		go snaps.Run(bg)
	}
	return snaps
}

// readiness is false from the moment the drain starts.
type readiness struct{ draining atomic.Bool }

func (r *readiness) ready() bool { return !r.draining.Load() }

type handlerParts struct {
	cfg      config.Config
	log      *slog.Logger
	reg      *prometheus.Registry
	verifier *auth.Verifier
	vendors  *vendors
	edge     edge
	db       store.Store
	jobs     jobs
	snaps    *aggregate.Snapshots
	tracer   trace.TracerProvider
	ready    *readiness
}

// newHandler is every route with its middleware (internal/handlers).
func newHandler(p handlerParts) http.Handler {
	v := p.vendors
	return handlers.NewServer(handlers.Deps{
		Log:            p.log,
		Verifier:       p.verifier,
		Metrics:        p.edge.metrics,
		Gatherer:       p.reg,
		Customers:      v.customers(),
		CustomerViews:  v.customerViews(p.snaps),
		Snapshots:      p.snaps,
		Tenants:        v.tenants(),
		Agreements:     v.crayon,
		Licenses:       dbsync.Manager{C: v.dbsync},
		Roles:          v.gdap.AvailableRoles,
		SyncJobs:       p.jobs.syncs,
		Idempotency:    p.db,
		Audit:          p.db,
		PageTokens:     pagetoken.New([]byte(p.cfg.PageTokenKey.Reveal())),
		RequestTimeout: p.cfg.RequestTimeout,
		Ready:          p.ready.ready,
		RateLimit:      p.edge.rateLimit,
		CORS:           p.edge.cors,
		Subscriptions:  v.subscriptions(),
		GDAPTemplates:  v.gdap,
		Onboarding:     p.jobs.onboarding.Onboardings,
		Tracer:         p.tracer,
		AuthFailures:   p.edge.authFailures,
	})
}

// serve listens (before serving, so a port in use fails start-up at once),
// serves until ctx ends, then drains: unready, in-flight requests finish
// within the grace period, new ones are refused.
func serve(ctx context.Context, cfg config.Config, handler http.Handler, log *slog.Logger, banner func(addr string), ready *readiness) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    handlers.ServerMaxHeaderBytes, // above the 431 problem's limit
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	// The banner comes first: whoever waits for "listening" (a test, a
	// script) then finds it complete.
	if banner != nil {
		banner(ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	ready.draining.Store(true)
	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
