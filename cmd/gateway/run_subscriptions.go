package main

import (
	"context"
	"strconv"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream/crayon"
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
	}
}
