package crayon

import (
	"context"
	"errors"
	"testing"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

func newSubscriptionClient(t *testing.T, opts crayonsim.Options) (*Client, *crayonsim.Server) {
	t.Helper()
	sim, base := simtest.Crayon(t, opts)
	c, err := New(newUpstream(t), defaultConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

func TestListSubscriptionsSendsTheDocumentedFilter(t *testing.T) {
	c, sim := newSubscriptionClient(t, crayonsim.Options{})
	items, total, err := c.ListSubscriptions(context.Background(), SubscriptionFilter{
		CustomerTenantID: crayonsim.FirstTenantID, Statuses: StatusFlag(model.SubscriptionActive),
		Search: "premium", Sort: true, SortBy: SortByProductName, SortDescending: true, Page: 1, PageSize: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(len(items)) || len(items) == 0 {
		t.Fatalf("total %d, items %d", total, len(items))
	}
	for _, s := range items {
		if s.TenantID != "1001" || s.Status != model.SubscriptionActive || s.ProductName != "Microsoft 365 Business Premium" || s.PartNumber != "CFQ7TTC0LF8R" {
			t.Errorf("unexpected item %+v", s)
		}
	}
	got := sim.Received()
	q := got[len(got)-1].Query
	want := map[string]string{"OrganizationId": "4703", "CustomerTenantId": "1001", "Statuses": "1", "Search": "premium",
		"SortBy": "1", "SortOrder": "1", "Page": "1", "PageSize": "10"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("query %s = %q, want %q (all: %v)", k, q.Get(k), v, q)
		}
	}
	if len(q) != len(want) {
		t.Errorf("query carries more than the filter: %v", q)
	}
}

func TestSubscriptionFieldsAreNormalized(t *testing.T) {
	c, _ := newSubscriptionClient(t, crayonsim.Options{})
	all, err := c.AllSubscriptions(context.Background(), SubscriptionFilter{CustomerTenantID: crayonsim.FirstTenantID + 3})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]bool{}
	var trial *model.Subscription
	for i, s := range all {
		statuses[s.Status] = true
		if s.IsTrial {
			trial = &all[i]
		}
		if s.TermStart == nil || s.TermEnd == nil || !s.TermEnd.After(*s.TermStart) {
			t.Errorf("subscription %s has no term: %+v", s.ID, s)
		}
	}
	for _, want := range []string{model.SubscriptionActive, model.SubscriptionExpired, model.SubscriptionPending} {
		if !statuses[want] {
			t.Errorf("status %s not seen in %v", want, statuses)
		}
	}
	if trial == nil || trial.AutoRenew != nil {
		t.Fatalf("a trial must come without auto_renew (the vendor says null): %+v", trial)
	}
	one, err := c.Subscription(context.Background(), all[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if one.ID != all[0].ID || one.AutoRenew == nil || one.BillingCycle != model.BillingAnnual || one.TermDuration != "P1Y" {
		t.Errorf("detailed subscription = %+v", one)
	}
}

func TestSubscriptionStatusFlags(t *testing.T) {
	for flags, want := range map[int]string{0: "unknown", 1: "active", 2: "suspended", 32: "expired", 128: "cancelled", 3: "unknown", 446: "unknown", 1024: "unknown"} {
		if got := subscriptionStatus(flags); got != want {
			t.Errorf("status %d = %s, want %s", flags, got, want)
		}
	}
	for _, s := range model.SubscriptionStatuses {
		if subscriptionStatus(StatusFlag(s)) != s {
			t.Errorf("%s does not round-trip", s)
		}
	}
}

func TestAllSubscriptionsSurvivesAPageSizeCap(t *testing.T) {
	// The server answers 30 a page whatever the client asks for.
	c, sim := newSubscriptionClient(t, crayonsim.Options{})
	sim.CapSubscriptionPages(30)
	all, err := c.AllSubscriptions(context.Background(), SubscriptionFilter{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range all {
		seen[s.ID] = true
	}
	if len(all) != sim.SubscriptionCount() || len(seen) != len(all) {
		t.Fatalf("walked %d (%d distinct) of %d", len(all), len(seen), sim.SubscriptionCount())
	}
}

func TestSubscriptionNotFound(t *testing.T) {
	c, _ := newSubscriptionClient(t, crayonsim.Options{})
	for _, id := range []string{"999999", "abc"} {
		if _, err := c.Subscription(context.Background(), id); !errors.Is(err, upstream.ErrNotFound) {
			t.Errorf("%s: err = %v, want not found", id, err)
		}
	}
}
