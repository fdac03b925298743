package handlers

import (
	"net/http"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// handleListCustomers serves GET /v1/customers (operationId listCustomers):
// the partner's customers merged across vendors, one per organization.
func handleListCustomers(svc *aggregate.Customers, tokens *pagetoken.Codec) http.Handler {
	type response struct {
		Items         []model.Customer   `json:"items"`
		NextPageToken string             `json:"next_page_token,omitempty"`
		Sources       []aggregate.Source `json:"sources"`
		Complete      bool               `json:"complete"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "q", "vendor", "page_size", "page_token")
		cq := aggregate.CustomerQuery{Q: q.str("q", 200), Vendor: q.enum("vendor", svc.Vendors()...)}
		size := q.intRange("page_size", defaultPageSize, 1, maxPageSize)
		fingerprint := "customers|" + cq.Q + "|" + cq.Vendor
		offset := 0
		if tok := q.values.Get("page_token"); tok != "" {
			pos, err := tokens.Decode(tok, fingerprint)
			if err != nil {
				q.fail("page_token", "is not a token this gateway issued for these filters; start again without it")
			}
			offset = pos.Offset
		}
		if err := q.err(); err != nil {
			return err
		}
		list, err := svc.List(r.Context(), cq)
		if err != nil {
			return err
		}
		if offset > len(list.Items) {
			return problem.BadRequest("the page token points past the end of the list",
				problem.FieldError{Location: "query.page_token", Message: "points past the end of the list; start again without it"})
		}
		end := min(offset+size, len(list.Items))
		resp := response{Items: list.Items[offset:end], Sources: list.Sources, Complete: list.Complete}
		if end < len(list.Items) {
			resp.NextPageToken = tokens.Encode(pagetoken.Position{Offset: end, Query: fingerprint})
		}
		if resp.Items == nil {
			resp.Items = []model.Customer{}
		}
		return respond(w, http.StatusOK, resp)
	})
}
