package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// handleListCustomers serves GET /v1/customers (operationId listCustomers):
// the partner's customers merged across vendors, one per organization.
// With snapshots, a page is cut from the current snapshot in memory; its
// token pins that snapshot's generation, so a page walk stays consistent
// while the snapshot is refreshed.
func handleListCustomers(svc *aggregate.Customers, snaps *aggregate.Snapshots, tokens *pagetoken.Codec) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "q", "vendor", "order_by", "page_size", "page_token")
		cq := aggregate.CustomerQuery{Q: q.str("q", 200), Vendors: q.list("vendor", svc.Vendors()...),
			Order: q.orderBy(aggregate.OrderName, aggregate.CustomerOrderFields, []string{aggregate.OrderName, aggregate.OrderID})}
		size := q.intRange("page_size", defaultPageSize, 1, maxPageSize)
		pg := pager{tokens, fmt.Sprintf("customers|%s|%s|%s|%v", cq.Q, strings.Join(cq.Vendors, ","), cq.Order.Field, cq.Order.Desc)}
		pos := pg.read(q, func(pos pagetoken.Position) bool { return (snaps != nil) == (pos.Gen != 0) })
		if err := q.err(); err != nil {
			return err
		}
		if snaps != nil {
			snap, err := snapshotFor(r, snaps, pos.Gen)
			if err != nil {
				return err
			}
			page, err := snap.CustomerPage(cq, pos.Offset, size)
			if err != nil {
				return err
			}
			links := pageLinks{Total: total(page.Total)}
			if page.Next > 0 {
				links.Next = pg.next(pagetoken.Position{Offset: page.Next, Gen: snap.Gen})
			}
			if page.Prev >= 0 {
				links.Previous = pg.next(pagetoken.Position{Offset: page.Prev, Gen: snap.Gen})
			}
			return respondList(w, page.JSON, links, page.Sources, page.Complete)
		}
		// Without snapshots every request merges the vendors' whole lists
		// anyway, so it sorts them too.
		list, err := svc.List(r.Context(), cq)
		if err != nil {
			return err
		}
		aggregate.SortCustomers(list.Items, cq.Order)
		offset := pos.Offset
		if offset > len(list.Items) {
			return pageTokenStale("the page token points past the end of the list", "points past the end of the list; start again without it")
		}
		end := min(offset+size, len(list.Items))
		resp := newList(list.Items[offset:end], list.Sources, list.Complete)
		resp.TotalSize = total(len(list.Items))
		if end < len(list.Items) {
			resp.NextPageToken = pg.next(pagetoken.Position{Offset: end})
		}
		if offset > 0 {
			resp.PreviousPageToken = pg.next(pagetoken.Position{Offset: max(0, offset-size)})
		}
		return respond(w, http.StatusOK, resp)
	})
}

// snapshotFor is the snapshot a list request reads: the generation its
// page token pins, a freshly built one for Cache-Control: no-cache, else
// the current one (waiting, within the request's budget, for the first).
func snapshotFor(r *http.Request, snaps *aggregate.Snapshots, gen uint64) (*aggregate.Snapshot, error) {
	var (
		snap *aggregate.Snapshot
		err  error
	)
	switch {
	case gen != 0:
		snap, err = snaps.Generation(gen)
		if errors.Is(err, aggregate.ErrGenerationGone) {
			return nil, pageTokenStale("the list changed since this page token was issued", "belongs to a list that is no longer kept; start again without it")
		}
	case noCache(r):
		snap, err = snaps.Fresh(r.Context())
	default:
		snap, err = snaps.Current(r.Context())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, problem.New(http.StatusGatewayTimeout, "vendor-timeout", "Gateway Timeout",
			"the vendors' lists were not read within the time budget")
	}
	return snap, err
}

// noCache reports whether the caller asked for a fresh read
// (Cache-Control: no-cache or Pragma: no-cache).
func noCache(r *http.Request) bool {
	for _, v := range r.Header.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
				return true
			}
		}
	}
	return r.Header.Get("Cache-Control") == "" && strings.EqualFold(strings.TrimSpace(r.Header.Get("Pragma")), "no-cache")
}
