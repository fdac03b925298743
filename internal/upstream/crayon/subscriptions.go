package crayon

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/partnerhub/gateway/internal/model"
)

// Subscription sort keys and orders (SubscriptionFilter.SortBy / SortOrder).
const (
	SortByName         = 0
	SortByProductName  = 1
	SortByCreationDate = 2
	SortByEndDate      = 3
)

// SubscriptionFilter narrows a subscription listing. Zero values are omitted.
type SubscriptionFilter struct {
	// OrganizationID 0 means Config.OrganizationID.
	OrganizationID, CustomerTenantID, PublisherID int
	// Statuses is a SubscriptionStatus flag set (see StatusFlag); 0 is all.
	Statuses int
	// Search matches the subscription's or product's name (substring).
	Search string
	// SortBy (SortBy*) is sent only when Sort is true; SortDescending
	// flips the order.
	Sort           bool
	SortBy         int
	SortDescending bool
	// Page is 1-based (0 means 1); PageSize 0 means DefaultPageSize.
	Page, PageSize int
}

func (c *Client) subscriptionQuery(f SubscriptionFilter) url.Values {
	q := c.orgQuery(f.OrganizationID)
	for name, v := range map[string]int{"CustomerTenantId": f.CustomerTenantID, "PublisherId": f.PublisherID, "Statuses": f.Statuses} {
		if v != 0 {
			q.Set(name, strconv.Itoa(v))
		}
	}
	if f.Search != "" {
		q.Set("Search", f.Search)
	}
	if f.Sort {
		q.Set("SortBy", strconv.Itoa(f.SortBy))
		order := 0
		if f.SortDescending {
			order = 1
		}
		q.Set("SortOrder", strconv.Itoa(order))
	}
	setPage(q, f.Page, f.PageSize)
	return q
}

// ListSubscriptions returns one page of subscriptions and the total number
// of matches across all pages.
func (c *Client) ListSubscriptions(ctx context.Context, f SubscriptionFilter) ([]model.Subscription, int64, error) {
	return listPage(ctx, c, "list_subscriptions", "api/v1/subscriptions/", c.subscriptionQuery(f), subscriptionDTO.model)
}

// AllSubscriptions walks every page of a listing (f.Page is ignored;
// f.PageSize 0 means AllPageSize) as AllTenants does.
func (c *Client) AllSubscriptions(ctx context.Context, f SubscriptionFilter) ([]model.Subscription, error) {
	return walkPages(ctx, "list_subscriptions", f.PageSize, func(s model.Subscription) string { return s.ID },
		func(ctx context.Context, page, size int) ([]model.Subscription, int64, error) {
			g := f
			g.Page, g.PageSize = page, size
			return c.ListSubscriptions(ctx, g)
		})
}

// Subscription returns one subscription. An unknown id is ErrNotFound; so is
// an id that is not a Crayon (integer) id, without calling Crayon.
func (c *Client) Subscription(ctx context.Context, id string) (model.Subscription, error) {
	n, err := pathID(id, "get_subscription")
	if err != nil {
		return model.Subscription{}, err
	}
	var s subscriptionDTO
	if err := c.call(ctx, "get_subscription", http.MethodGet, "api/v1/subscriptions/"+n, nil, nil, &s); err != nil {
		return model.Subscription{}, err
	}
	return s.model(), nil
}
