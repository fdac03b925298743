package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera"
	"github.com/partnerhub/gateway/internal/upstream/crayon"
	"github.com/partnerhub/gateway/internal/upstream/dbsync"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
	"github.com/partnerhub/gateway/internal/upstream/readcache"
)

// vendors are the four vendor clients, each on its own client stack.
type vendors struct {
	gdap     *gdap.Client
	bokamera *bokamera.Client
	crayon   *crayon.Client
	dbsync   *dbsync.Client
	// reads caches vendor reads; nil when caching is off.
	reads *aggregate.ReadCache
}

// newVendors builds the four vendor clients, each on its own stack
// (breaker, bulkhead, timeout, retries, metrics), and the read cache
// before them.
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
	if v.reads, err = newReadCache(cfg.Cache, reg); err != nil {
		return nil, err
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
		aggregate.CustomerSource{Vendor: model.VendorGDAP, List: aggregate.MapRead(gdapCustomers, func(cs []model.GDAPCustomer) []model.CustomerRecord {
			return mapAll(cs, model.GDAPCustomer.CustomerRecord)
		})},
		aggregate.CustomerSource{Vendor: model.VendorCrayon, List: aggregate.MapRead(crayonTenants, crayon.CustomerRecords)},
		aggregate.CustomerSource{Vendor: model.VendorBokaMera, List: aggregate.MapRead(bookingCustomers, func(bs []model.BookingCustomer) []model.CustomerRecord {
			return mapAll(bs, model.BookingCustomer.CustomerRecord)
		})},
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
	list := aggregate.CachedBy(v.reads, "crayon.tenants", nil, func(ctx context.Context, q aggregate.TenantQuery) (aggregate.TenantListing, error) {
		items, total, err := v.crayon.ListTenants(ctx, crayon.TenantFilter{
			OrganizationID: q.OrganizationID, PublisherID: q.PublisherID, Type: q.Type,
			DomainPrefix: q.DomainPrefix, Search: q.Q, Page: q.Page, PageSize: q.PageSize,
		})
		return aggregate.TenantListing{Items: items, Total: total}, err
	})
	return aggregate.NewTenants(aggregate.TenantBackend{
		List:          list,
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
func (v *vendors) crayonAllTenants() aggregate.Read[[]model.Tenant] {
	return aggregate.Cached(v.reads, "crayon.all_tenants", func(ctx context.Context) ([]model.Tenant, error) {
		return v.crayon.AllTenants(ctx, crayon.TenantFilter{})
	})
}

// gdapCustomers is GDAP's customer list through the read cache; the
// customer list and the tenant enrichment share its entries.
func (v *vendors) gdapCustomers() aggregate.Read[[]model.GDAPCustomer] {
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
