package handlers

import (
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/docsui"
	"github.com/partnerhub/gateway/internal/middleware"
)

// addRoutes maps the whole API surface. api/openapi.yaml describes exactly
// these routes; TestRoutesMatchSpec keeps the two in step.
func addRoutes(r chi.Router, d Deps) {
	paths, err := loadPathRules()
	if err != nil {
		// The contract is embedded at build time; TestPathRulesLoad fails first.
		panic(err)
	}

	r.Get("/healthz", handleHealthz())
	r.Get("/readyz", handleReadyz(d.Ready))
	r.Method("GET", "/metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{ErrorLog: slogAdapter{d.Log}}))
	r.Get("/openapi.yaml", handleOpenAPI())
	r.Get("/docs", docsui.Page())
	r.Get("/docs/assets/{file}", docsui.Assets())

	// A group's middleware runs after routing, so even a 401 is counted
	// and logged under its route pattern.
	r.Group(func(r chi.Router) {
		r.Use(middleware.Authenticate(d.Verifier, d.AuthFailures), withTimeout(d.RequestTimeout))
		if d.RateLimit != nil {
			r.Use(d.RateLimit) // per caller subject, so after authentication
		}
		r.Use(checkPathParams(paths)) // before any handler can call a vendor
		can := func(perm string) chi.Router { return r.With(middleware.Require(perm)) }

		// Writes go through the Idempotency-Key store after authorization,
		// so keys are scoped to an authenticated caller.
		write := func(perm string) chi.Router { return can(perm).With(idempotent(d.Idempotency, d.Log)) }
		audit := writeLog{l: d.Log, store: d.Audit}

		can(config.PermReadCustomers).Method("GET", "/v1/customers", handleListCustomers(d.Customers, d.Snapshots, d.PageTokens))
		can(config.PermReadCustomers).Method("GET", "/v1/customers/{id}", handleGetCustomer(d.CustomerViews))

		can(config.PermReadTenants).Method("GET", "/v1/tenants", handleListTenants(d.Tenants, d.Snapshots, d.PageTokens))
		can(config.PermReadTenants).Method("GET", "/v1/tenants/{id}", handleGetTenant(d.Tenants, d.Snapshots))
		can(config.PermReadTenants).Method("GET", "/v1/tenants/{id}/agreements", handleListAgreements(d.Agreements))
		write(config.PermWriteAgreements).Method("POST", "/v1/tenants/{id}/agreements", handleAddAgreement(d.Agreements, audit))
		can(config.PermReadTenants).Method("GET", "/v1/tenants/{id}/agreements/{agreement_id}", handleGetAgreement(d.Agreements))
		can(config.PermReadTenants).Method("GET", "/v1/roles", handleListRoles(d.Roles))

		can(config.PermReadLicenses).Method("GET", "/v1/licenses", handleListLicenses(d.Licenses, d.PageTokens))
		write(config.PermManageLicenses).Method("POST", "/v1/licenses", handleRegisterLicense(d.Licenses, audit))
		can(config.PermReadLicenses).Method("GET", "/v1/licenses/{id}", handleCheckLicenseByID(d.Licenses))
		write(config.PermManageLicenses).Method("DELETE", "/v1/licenses/{id}", handleUnregisterLicenseByID(d.Licenses, audit))
		// The name routes are aliases: names can change, ids do not.
		can(config.PermReadLicenses).Method("GET", "/v1/licenses/{company}/{user}", handleCheckLicense(d.Licenses))
		write(config.PermManageLicenses).Method("DELETE", "/v1/licenses/{company}/{user}", handleUnregisterLicense(d.Licenses, audit))

		write(config.PermRunSyncs).Method("POST", "/v1/sync-jobs", handleStartSyncJob(d.SyncJobs, audit))
		can(config.PermReadSyncs).Method("GET", "/v1/sync-jobs", handleListSyncJobs(d.SyncJobs, d.Snapshots, d.PageTokens))
		can(config.PermReadSyncs).Method("GET", "/v1/sync-jobs/{id}", handleGetSyncJob(d.SyncJobs))

		can(config.PermReadAudit).Method("GET", "/v1/audit-events", handleListAuditEvents(d.Audit, d.PageTokens))

		// Licences a partner can act on (Crayon subscriptions, GDAP onboarding).
		can(config.PermReadSubscriptions).Method("GET", "/v1/subscriptions", handleListSubscriptions(d.Subscriptions, d.PageTokens))
		can(config.PermReadSubscriptions).Method("GET", "/v1/subscriptions/{id}", handleGetSubscription(d.Subscriptions))
		write(config.PermOnboardGDAP).Method("POST", "/v1/gdap/templates", handlePublishTemplate(d.GDAPTemplates, audit))
		write(config.PermOnboardGDAP).Method("POST", "/v1/gdap/templates/{id}/security-groups", handleCreateSecurityGroups(d.GDAPTemplates, audit))
		write(config.PermOnboardGDAP).Method("POST", "/v1/gdap/onboardings", handleStartOnboarding(d.Onboarding, audit))
		can(config.PermOnboardGDAP).Method("GET", "/v1/gdap/onboardings/{id}", handleGetOnboarding(d.Onboarding))
	})
}
