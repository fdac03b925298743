package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
)

// handleListSubscriptions serves GET /v1/subscriptions (operationId
// listSubscriptions): one page of Crayon subscriptions with their customer.
// The page token carries Crayon's position (tenant walked, page, and the
// page size Crayon really used), so a capped page size loses nothing.
func handleListSubscriptions(svc *aggregate.Subscriptions, tokens *pagetoken.Codec) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "customer_id", "tenant_id", "status", "q", "page_size", "page_token")
		sq := aggregate.SubscriptionQuery{}
		if v := q.values.Get("customer_id"); v != "" {
			if key, ok := aggregate.ParseCustomerID(v); ok {
				sq.CustomerID = key.String()
			} else {
				q.fail("customer_id", problem.CodeInvalidFormat, "must be a customer id as GET /v1/customers lists it (ms-<tenant id>, crayon-<id> or bokamera-<id>)")
			}
		}
		if v := q.values.Get("tenant_id"); v != "" {
			if n, err := strconv.Atoi(v); err != nil || n <= 0 || strconv.Itoa(n) != v {
				q.fail("tenant_id", problem.CodeInvalidFormat, "must be a Crayon tenant id (a positive integer)")
			} else {
				sq.TenantID = v
			}
		}
		if v := q.values.Get("status"); v != "" {
			for _, s := range strings.Split(v, ",") {
				if !slices.Contains(model.SubscriptionStatuses, s) {
					q.fail("status", problem.CodeInvalidChoice, "must be one or more (comma-separated) of "+strings.Join(model.SubscriptionStatuses, ", "))
					sq.Statuses = nil
					break
				}
				if !slices.Contains(sq.Statuses, s) {
					sq.Statuses = append(sq.Statuses, s)
				}
			}
			slices.Sort(sq.Statuses)
		}
		sq.Q = q.str("q", 200)
		sq.PageSize = q.intRange("page_size", defaultPageSize, 1, maxPageSize)
		sq.Page = 1
		pg := pager{tokens, fmt.Sprintf("subscriptions|%s|%s|%s|%s|%d", sq.CustomerID, sq.TenantID, strings.Join(sq.Statuses, ","), sq.Q, sq.PageSize)}
		if pos := pg.read(q, func(pos pagetoken.Position) bool {
			return pos.Page >= 1 && pos.Part >= 0 && pos.Size >= 0 && pos.Size <= sq.PageSize
		}); pos.Page > 0 {
			sq.Page, sq.Part = pos.Page, pos.Part
			if pos.Size > 0 {
				sq.PageSize = pos.Size
			}
		}
		if err := q.err(); err != nil {
			return err
		}
		page, err := svc.List(r.Context(), sq)
		if err != nil {
			return err
		}
		resp := newList(page.Items, page.Sources, page.Complete)
		resp.TotalSize = page.Total
		if n := page.Next; n != nil {
			resp.NextPageToken = pg.next(pagetoken.Position{Page: n.Page, Part: n.Part, Size: n.PageSize})
		}
		return respond(w, http.StatusOK, resp)
	})
}

// handleGetSubscription serves GET /v1/subscriptions/{id} (operationId
// getSubscription).
func handleGetSubscription(svc *aggregate.Subscriptions) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id := chi.URLParam(r, "id")
		var idErr error
		if n, err := strconv.Atoi(id); err != nil || n <= 0 || strconv.Itoa(n) != id {
			idErr = problem.BadRequest("the subscription id is not valid",
				problem.FieldError{Location: "path.id", Message: "must be a positive integer"})
		}
		if err := joinBadRequests(idErr, newQuery(r).err()); err != nil {
			return err
		}
		s, sources, complete, err := svc.Get(r.Context(), id)
		if err != nil {
			return err
		}
		return respond(w, http.StatusOK, withSources(s, sources, complete))
	})
}
