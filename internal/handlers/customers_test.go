package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
)

// The snapshot-backed list: tokens pin a generation (400 once it is gone),
// answers carry an ETag that turns a repeat into 304, and no-cache reads
// the vendors again.
func TestListCustomersFromSnapshot(t *testing.T) {
	var version atomic.Int64
	snaps := aggregate.NewSnapshots(aggregate.SnapshotConfig{Interval: time.Hour, Sources: aggregate.SnapshotSources{
		GDAP: func(context.Context) ([]model.GDAPCustomer, error) {
			var out []model.GDAPCustomer
			for i := range 5 {
				out = append(out, model.GDAPCustomer{MicrosoftTenantID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
					CompanyName: fmt.Sprintf("Org %d v%d", i, version.Load())})
			}
			return out, nil
		},
		Crayon:   func(context.Context) ([]model.Tenant, error) { return nil, nil },
		BokaMera: func(context.Context) ([]model.BookingCustomer, error) { return nil, nil },
	}})
	runCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go snaps.Run(runCtx)
	svc := aggregate.NewCustomers(
		aggregate.CustomerSource{Vendor: model.VendorGDAP}, aggregate.CustomerSource{Vendor: model.VendorCrayon},
		aggregate.CustomerSource{Vendor: model.VendorBokaMera})
	h := middleware.Conditional(handleListCustomers(svc, snaps, pagetoken.New(nil)))
	get := func(query string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/customers?"+query, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(ctx))
		return rec
	}
	type page struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
		NextPageToken string `json:"next_page_token"`
		Complete      bool   `json:"complete"`
	}
	decode := func(rec *httptest.ResponseRecorder) page {
		var p page
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
		}
		return p
	}

	first := get("page_size=2") // waits for the first snapshot
	p1 := decode(first)
	if first.Code != 200 || len(p1.Items) != 2 || p1.NextPageToken == "" || !p1.Complete || p1.Items[0].Name != "Org 0 v0" {
		t.Fatalf("first page: %d %s", first.Code, first.Body)
	}
	etag := first.Header().Get("ETag")
	if rec := get("page_size=2", "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("repeat with its ETag: %d %s", rec.Code, rec.Body)
	}

	// The vendor's data changes: no-cache sees it, and the old token
	// keeps walking the old generation.
	version.Store(1)
	builds := snaps.Builds()
	fresh := get("page_size=2", "Cache-Control", "no-cache")
	if p := decode(fresh); fresh.Code != 200 || p.Items[0].Name != "Org 0 v1" || snaps.Builds() == builds {
		t.Fatalf("no-cache read: %d %s", fresh.Code, fresh.Body)
	}
	if rec := get("page_size=2", "If-None-Match", etag); rec.Code != 200 {
		t.Fatalf("changed list answered %d to the old ETag", rec.Code)
	}
	next := get("page_size=2&page_token=" + url.QueryEscape(p1.NextPageToken))
	if p := decode(next); next.Code != 200 || len(p.Items) != 2 || p.Items[0].Name != "Org 2 v0" {
		t.Fatalf("old token, old generation: %d %s", next.Code, next.Body)
	}

	// Four more generations push the first out: its token is refused.
	for v := int64(2); v <= 5; v++ {
		version.Store(v)
		if _, err := snaps.Fresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	gone := get("page_size=2&page_token=" + url.QueryEscape(p1.NextPageToken))
	var prob struct {
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(gone.Body.Bytes(), &prob)
	if gone.Code != http.StatusBadRequest || len(prob.Errors) != 1 || prob.Errors[0].Location != "query.page_token" {
		t.Fatalf("token of a dropped generation: %d %s", gone.Code, gone.Body)
	}
}
