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
	"os/signal"
	"sync/atomic"
	"syscall"
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
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/telemetry"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera"
	"github.com/partnerhub/gateway/internal/upstream/crayon"
	"github.com/partnerhub/gateway/internal/upstream/dbsync"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
	"github.com/partnerhub/gateway/internal/upstream/readcache"
)

// run is the whole program; main only calls it. Tests call it too, with
// their own args, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.Bool("dev", false, "run with built-in vendor simulators and a development OIDC issuer")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *version {
		_, err := fmt.Fprintln(stdout, "gateway", buildinfo.Version, buildinfo.Revision)
		return err
	}
	// Lines logged within a request carry its trace_id and span_id.
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	var devBanner func(addr string)
	if *dev {
		env, err := startDevEnv(ctx, log)
		if err != nil {
			return fmt.Errorf("starting dev environment: %w", err)
		}
		defer env.Close()
		if getenv, err = env.Getenv(getenv); err != nil {
			return fmt.Errorf("dev environment: %w", err)
		}
		devBanner = func(addr string) { env.PrintBanner(stdout, addr) }
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("invalid configuration (see README, Configuration):\n%w", err)
	}
	log.Info("configuration loaded", "dev", *dev, "version", buildinfo.Version, "config", cfg)

	tracing, err := telemetry.Setup(ctx, getenv, buildinfo.Version)
	if err != nil {
		return fmt.Errorf("tracing (OTEL_* variables): %w", err)
	}
	defer func() {
		// Export the spans still buffered, within a bound.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("exporting the last spans failed", "error", err.Error())
		}
	}()
	log.Info("tracing", "otlp_endpoint", cmp.Or(tracing.Endpoint, "off"))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector())

	// The verifier keeps using this context for JWKS refreshes: it lives
	// as long as run.
	oidcCtx, cancelOIDC := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOIDC()
	verifier, err := auth.NewVerifier(oidcCtx, auth.Config{
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Issuer:     cfg.OIDCIssuer, Audience: cfg.OIDCAudience, RolesClaim: cfg.OIDCRolesClaim,
		Permissions: cfg.Permissions, JWKSMinRefresh: cfg.OIDCJWKSMinRefresh, Registerer: reg,
	})
	if err != nil {
		return err
	}

	vendors, err := newVendors(cfg, reg, log, tracing.Provider)
	if err != nil {
		return err
	}
	if vendors.reads, err = newReadCache(cfg.Cache, reg); err != nil {
		return err
	}
	rateLimit, err := newRateLimit(cfg.RateLimit, reg)
	if err != nil {
		return err
	}
	cors, err := newCORS(cfg.CORS)
	if err != nil {
		return err
	}
	authFailures, err := newAuthFailureLimit(cfg.AuthFailures, reg)
	if err != nil {
		return err
	}
	httpMetrics, err := middleware.NewMetrics(reg)
	if err != nil {
		return err
	}

	// The database keeps sync jobs, idempotency keys and the audit trail.
	// Reads never need it; writes refuse (503) when it is down.
	db, err := openStore(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Error("closing the database", "error", err.Error())
		}
	}()
	log.Info("database ready", "database", cfg.Database)
	reg.MustRegister(newStoreUp(db))
	purgeCtx, stopPurge := context.WithCancel(oidcCtx)
	defer stopPurge() // before db.Close
	go purgeLoop(purgeCtx, db, log)
	syncJobs, err := syncjobs.New(syncjobs.Config{
		Store: db, GDAP: vendors.gdap, BokaMera: vendors.bokamera, Log: log,
		PartnerID: cfg.GDAP.PartnerID, BokaMeraCompanyID: cfg.BokaMera.CompanyID,
		// Longer than any request, so only a start that truly died is given up.
		StartTimeout: max(2*time.Minute, 4*cfg.RequestTimeout),
	})
	if err != nil {
		return err
	}
	onboarding, err := newOnboarding(db, vendors, log, cfg.ShutdownTimeout)
	if err != nil {
		return err
	}
	defer onboarding.stop() // before db.Close

	// The customer and tenant lists are served from snapshots rebuilt in
	// the background (nil: snapshots off).
	snaps := vendors.snapshots(cfg, log)
	if snaps != nil {
		go snaps.Run(oidcCtx)
	}

	var draining atomic.Bool
	handler := handlers.NewServer(handlers.Deps{
		Log:            log,
		Verifier:       verifier,
		Metrics:        httpMetrics,
		Gatherer:       reg,
		Customers:      vendors.customers(),
		CustomerViews:  vendors.customerViews(snaps),
		Snapshots:      snaps,
		Tenants:        vendors.tenants(),
		Agreements:     vendors.crayon,
		Licenses:       dbsync.Manager{C: vendors.dbsync},
		Roles:          vendors.gdap.AvailableRoles,
		SyncJobs:       syncJobs,
		Idempotency:    db,
		Audit:          db,
		PageTokens:     pagetoken.New([]byte(cfg.PageTokenKey.Reveal())),
		RequestTimeout: cfg.RequestTimeout,
		Ready:          func() bool { return !draining.Load() },
		RateLimit:      rateLimit,
		CORS:           cors,
		Subscriptions:  vendors.subscriptions(),
		GDAPTemplates:  vendors.gdap,
		Onboarding:     onboarding.Onboardings,
		Tracer:         tracing.Provider,
		AuthFailures:   authFailures,
	})

	// Listen before serving, so a port in use fails start-up at once.
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
	if devBanner != nil {
		devBanner(ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Drain: report unready, finish in-flight requests, refuse new ones.
	draining.Store(true)
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

// vendors are the four vendor clients, each on its own client stack.
type vendors struct {
	gdap     *gdap.Client
	bokamera *bokamera.Client
	crayon   *crayon.Client
	dbsync   *dbsync.Client
	// reads caches vendor reads; nil when caching is off.
	reads *aggregate.ReadCache
}

func newVendors(cfg config.Config, reg prometheus.Registerer, log *slog.Logger, tp trace.TracerProvider) (*vendors, error) {
	metrics, err := upstream.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	stack := func(name string, v config.Vendor) (*upstream.Client, error) {
		return upstream.New(upstream.Config{Vendor: name, Timeout: v.Timeout, MaxConcurrent: v.MaxConcurrent, Breaker: cfg.Breaker,
			MaxAttempts: cfg.Retry.MaxAttempts, BackoffBase: cfg.Retry.BackoffBase, BackoffMax: cfg.Retry.BackoffMax,
			TracerProvider: tp}, metrics, log)
	}
	var errs []error
	v := &vendors{}
	if up, err := stack(model.VendorGDAP, cfg.GDAP.Vendor); err != nil {
		errs = append(errs, err)
	} else if v.gdap, err = gdap.New(up, gdap.Config{
		BaseURL: cfg.GDAP.BaseURL, PartnerID: cfg.GDAP.PartnerID, Token: cfg.GDAP.Token.Reveal(),
		TokenURL: cfg.GDAP.TokenURL, ClientID: cfg.GDAP.ClientID, ClientSecret: cfg.GDAP.Secret.Reveal(), Scope: cfg.GDAP.Scope,
	}); err != nil {
		errs = append(errs, err)
	}
	if up, err := stack(model.VendorBokaMera, cfg.BokaMera.Vendor); err != nil {
		errs = append(errs, err)
	} else if v.bokamera, err = bokamera.New(up, bokamera.Config{
		BaseURL: cfg.BokaMera.BaseURL, APIKey: cfg.BokaMera.APIKey.Reveal(), TokenURL: cfg.BokaMera.TokenURL,
		Username: cfg.BokaMera.Username, Password: cfg.BokaMera.Password.Reveal(), CompanyID: cfg.BokaMera.CompanyID,
	}); err != nil {
		errs = append(errs, err)
	}
	if up, err := stack(model.VendorCrayon, cfg.Crayon.Vendor); err != nil {
		errs = append(errs, err)
	} else if v.crayon, err = crayon.New(up, crayon.Config{
		BaseURL: cfg.Crayon.BaseURL, ClientID: cfg.Crayon.ClientID, ClientSecret: cfg.Crayon.ClientSecret.Reveal(),
		Username: cfg.Crayon.Username, Password: cfg.Crayon.Password.Reveal(), OrganizationID: cfg.Crayon.OrganizationID,
	}); err != nil {
		errs = append(errs, err)
	}
	if up, err := stack(model.VendorDBSync, cfg.DBSync.Vendor); err != nil {
		errs = append(errs, err)
	} else if v.dbsync, err = dbsync.New(up, dbsync.Config{
		BaseURL: cfg.DBSync.BaseURL, AppKey: cfg.DBSync.AppKey.Reveal(), AppToken: cfg.DBSync.AppToken.Reveal(),
	}); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("vendor clients: %w", err)
	}
	return v, nil
}

// customers wires the customer list: GDAP's partner customers, Crayon's
// active customer tenants (every page) and BokaMera's booking customers.
func (v *vendors) customers() *aggregate.Customers {
	gdapCustomers := v.gdapCustomers()
	crayonTenants := v.crayonAllTenants()
	bookingCustomers := aggregate.Cached(v.reads, "bokamera.all_customers", func(ctx context.Context) ([]model.BookingCustomer, error) {
		return v.bokamera.AllCustomers(ctx, "")
	})
	return aggregate.NewCustomers(
		aggregate.CustomerSource{Vendor: model.VendorGDAP, List: func(ctx context.Context) ([]model.CustomerRecord, error) {
			cs, err := gdapCustomers(ctx)
			return mapAll(cs, model.GDAPCustomer.CustomerRecord), err
		}},
		aggregate.CustomerSource{Vendor: model.VendorCrayon, List: func(ctx context.Context) ([]model.CustomerRecord, error) {
			ts, err := crayonTenants(ctx)
			return crayon.CustomerRecords(ts), err
		}},
		aggregate.CustomerSource{Vendor: model.VendorBokaMera, List: func(ctx context.Context) ([]model.CustomerRecord, error) {
			bs, err := bookingCustomers(ctx)
			return mapAll(bs, model.BookingCustomer.CustomerRecord), err
		}},
	)
}

func mapAll[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

// tenants wires the tenant service: Crayon's customer tenants, enriched
// with GDAP's customers.
func (v *vendors) tenants() *aggregate.Tenants {
	type page struct {
		items []model.Tenant
		total int64
	}
	list := aggregate.CachedBy(v.reads, "crayon.tenants", nil, func(ctx context.Context, q aggregate.TenantQuery) (page, error) {
		items, total, err := v.crayon.ListTenants(ctx, crayon.TenantFilter{
			OrganizationID: q.OrganizationID, PublisherID: q.PublisherID, Type: q.Type,
			DomainPrefix: q.DomainPrefix, Search: q.Q, Page: q.Page, PageSize: q.PageSize,
		})
		return page{items, total}, err
	})
	return aggregate.NewTenants(aggregate.TenantBackend{
		List: func(ctx context.Context, q aggregate.TenantQuery) ([]model.Tenant, int64, error) {
			p, err := list(ctx, q)
			return p.items, p.total, err
		},
		Get:           aggregate.CachedBy(v.reads, "crayon.tenant", func(id string) string { return id }, v.crayon.Tenant),
		GDAPCustomers: v.gdapCustomers(),
	})
}

// customerViews wires the customer 360 view: GDAP's customers, Crayon's
// tenants and consents, DBSync's licensed users and BokaMera's customers.
//
// Identification reads share the read cache with the list endpoints.
// Consents and licences are read fresh: a caller who has just given a
// consent or registered a user must see it.
func (v *vendors) customerViews(snaps *aggregate.Snapshots) *aggregate.CustomerViews {
	id := func(s string) string { return s }
	var snapshot func(context.Context) (*aggregate.Snapshot, error)
	if snaps != nil {
		snapshot = snaps.Current
	}
	return aggregate.NewCustomerViews(aggregate.CustomerViewBackend{
		Snapshot:      snapshot,
		GDAPCustomers: v.gdapCustomers(),
		CrayonTenants: v.crayonAllTenants(),
		CrayonTenant:  aggregate.CachedBy(v.reads, "crayon.tenant", id, v.crayon.Tenant),
		Agreements:    v.crayon.Agreements,
		Licenses: func(ctx context.Context, company string) ([]model.License, error) {
			d, err := v.dbsync.LicenseDetails(ctx, company)
			return d.Users, err
		},
		BookingCustomer: aggregate.CachedBy(v.reads, "bokamera.customer", id, v.bokamera.Customer),
		SearchBookings:  aggregate.CachedBy(v.reads, "bokamera.search_customers", id, v.bokamera.AllCustomers),
		Extra:           v.customerViewExtra(),
	})
}

// snapshots builds the customer and tenant snapshots from the vendors'
// full lists, read past the read cache (a snapshot is itself the cache).
func (v *vendors) snapshots(cfg config.Config, log *slog.Logger) *aggregate.Snapshots {
	if cfg.Cache.SnapshotInterval <= 0 {
		return nil
	}
	return aggregate.NewSnapshots(aggregate.SnapshotConfig{
		Sources: aggregate.SnapshotSources{
			GDAP: v.gdap.ListCustomers,
			Crayon: func(ctx context.Context) ([]model.Tenant, error) {
				return v.crayon.AllTenants(ctx, crayon.TenantFilter{})
			},
			BokaMera: func(ctx context.Context) ([]model.BookingCustomer, error) { return v.bokamera.AllCustomers(ctx, "") },
		},
		Interval: cfg.Cache.SnapshotInterval, MaxStale: cfg.Cache.MaxStale, Log: log,
		// Past any one vendor timeout, so a slow vendor's pages still land.
		BuildTimeout: max(30*time.Second, 2*cfg.RequestTimeout),
	})
}

// crayonAllTenants is Crayon's full tenant list (every page) through the
// read cache, shared by the customer list and the 360 view.
func (v *vendors) crayonAllTenants() func(context.Context) ([]model.Tenant, error) {
	return aggregate.Cached(v.reads, "crayon.all_tenants", func(ctx context.Context) ([]model.Tenant, error) {
		return v.crayon.AllTenants(ctx, crayon.TenantFilter{})
	})
}

// gdapCustomers is GDAP's customer list through the read cache; the
// customer list and the tenant enrichment share its entries.
func (v *vendors) gdapCustomers() func(context.Context) ([]model.GDAPCustomer, error) {
	return aggregate.Cached(v.reads, "gdap.customers", v.gdap.ListCustomers)
}

// newReadCache builds the vendor read cache; nil (no caching) when the TTL
// is 0.
func newReadCache(c config.Cache, reg prometheus.Registerer) (*aggregate.ReadCache, error) {
	m, err := readcache.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	rc, err := aggregate.NewReadCache(readcache.Config{TTL: c.TTL, MaxStale: c.MaxStale, MaxEntries: c.MaxEntries,
		Metrics: m, Name: "vendor_reads"})
	if err != nil {
		return nil, fmt.Errorf("read cache: %w", err)
	}
	return rc, nil
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
