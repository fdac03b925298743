package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/upstream/crayon"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
)

// subscriptionFilter maps the gateway's filter onto Crayon's.
func subscriptionFilter(f aggregate.SubscriptionFilter) crayon.SubscriptionFilter {
	cf := crayon.SubscriptionFilter{Search: f.Q, Page: f.Page, PageSize: f.PageSize}
	cf.CustomerTenantID, _ = strconv.Atoi(f.TenantID)
	for _, s := range f.Statuses {
		cf.Statuses |= crayon.StatusFlag(s)
	}
	return cf
}

// subscriptions wires the subscription service: Crayon's subscriptions
// placed in their customers by the (cached) tenant and GDAP lists.
// Subscriptions themselves are read fresh: seat counts are what a partner
// acts on.
func (v *vendors) subscriptions() *aggregate.Subscriptions {
	return aggregate.NewSubscriptions(aggregate.SubscriptionBackend{
		List: func(ctx context.Context, f aggregate.SubscriptionFilter) ([]model.Subscription, int64, error) {
			return v.crayon.ListSubscriptions(ctx, subscriptionFilter(f))
		},
		Get:           v.crayon.Subscription,
		CrayonTenants: v.crayonAllTenants(),
		GDAPCustomers: v.gdapCustomers(),
	})
}

// customerViewExtra feeds the 360 view's subscription and GDAP
// relationship sections.
func (v *vendors) customerViewExtra() aggregate.ExtraBackend {
	return aggregate.ExtraBackend{
		Subscriptions: func(ctx context.Context, tenantID string) ([]model.Subscription, error) {
			return v.crayon.AllSubscriptions(ctx, subscriptionFilter(aggregate.SubscriptionFilter{TenantID: tenantID}))
		},
		Relationships: v.gdapRelationships(),
	}
}

// onboardingJobs runs GDAP onboarding jobs in the background.
type onboardingJobs struct {
	*syncjobs.Onboardings
	grace time.Duration
	log   *slog.Logger
}

func newOnboarding(db store.Store, v *vendors, log *slog.Logger, grace time.Duration) (onboardingJobs, error) {
	o, err := syncjobs.NewOnboardings(syncjobs.OnboardingConfig{Store: db, GDAP: v.gdap, Log: log})
	return onboardingJobs{Onboardings: o, grace: grace, log: log}, err
}

// stop gives running onboarding steps the shutdown grace to finish, so
// their outcome is recorded; a step still running after it is left to be
// given up as interrupted (its record stops moving).
func (o onboardingJobs) stop() {
	done := make(chan struct{})
	go func() { o.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(o.grace):
		o.log.Warn("gdap onboarding still running at shutdown; it will be reported as interrupted")
	}
}

// gdapRelationships is GDAP's relationship listing through the read cache,
// with the deployment's missing route mapped for the 360 view.
func (v *vendors) gdapRelationships() aggregate.Read[[]model.GDAPRelationship] {
	list := aggregate.Cached(v.reads, "gdap.relationships", v.gdap.Relationships)
	return func(ctx context.Context) ([]model.GDAPRelationship, aggregate.Freshness, error) {
		rels, f, err := list(ctx)
		if errors.Is(err, gdap.ErrNoRelationshipRoute) {
			return nil, f, fmt.Errorf("%w: %w", aggregate.ErrNoRelationshipListing, err)
		}
		return rels, f, err
	}
}
