package aggregate

import (
	"context"

	"github.com/partnerhub/gateway/internal/model"
)

// ExtraBackend feeds the 360 view's licence and GDAP relationship sections.
type ExtraBackend struct {
	// Subscriptions lists every Crayon subscription of one tenant (all pages).
	Subscriptions func(ctx context.Context, tenantID string) ([]model.Subscription, error)
}

// extraSections are the 360 view's sections kept apart from the rest of
// the view's code, embedded in CustomerView.
type extraSections struct {
	// Subscriptions are the Crayon subscriptions of the customer's tenants
	// with totals per product.
	Subscriptions SubscriptionSection `json:"subscriptions"`
}

// counted are the extra sections whose status decides Complete.
func (e *extraSections) counted() []Section {
	return []Section{e.Subscriptions.Section}
}

// startExtra reads the extra sections concurrently with the rest of the
// view; the returned func waits for them and gives their sources.
func (s *CustomerViews) startExtra(ctx context.Context, id identity, v *CustomerView) func() []Source {
	done := make(chan []Source, 1)
	go func() {
		var srcs []Source
		sec, subSrcs := subscriptionSection(ctx, s.b.Extra.Subscriptions, id.tenants)
		for i := range sec.Items {
			sec.Items[i].CustomerID = id.customer.ID
		}
		srcs = append(srcs, subSrcs...)
		v.Subscriptions = sec
		done <- srcs
	}()
	return func() []Source { return <-done }
}
