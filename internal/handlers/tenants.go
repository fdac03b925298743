package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
)

// AgreementStore is Crayon's agreement consent, as the handlers need it.
type AgreementStore interface {
	Agreements(ctx context.Context, tenantID string) ([]model.Agreement, error)
	AddAgreement(ctx context.Context, tenantID string, a model.Agreement) (model.Agreement, error)
}

// handleListTenants serves GET /v1/tenants (operationId listTenants): one
// page of Crayon customer tenants, each enriched with its GDAP view. With
// snapshots the page is cut from memory and its token pins the generation;
// without, it is one Crayon page.
func handleListTenants(svc *aggregate.Tenants, snaps *aggregate.Snapshots, tokens *pagetoken.Codec) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "organization_id", "publisher_id", "tenant_type", "domain_prefix", "q", "order_by", "page_size", "page_token")
		tq := aggregate.TenantQuery{
			OrganizationID: int(q.digits("organization_id")),
			PublisherID:    int(q.digits("publisher_id")),
			Type:           q.enum("tenant_type", model.TenantTypeT1, model.TenantTypeT2),
			DomainPrefix:   q.str("domain_prefix", 100),
			Q:              q.str("q", 200),
			Order:          q.orderBy(aggregate.OrderID, aggregate.TenantOrderFields, []string{aggregate.OrderID}),
			PageSize:       q.intRange("page_size", defaultPageSize, 1, maxPageSize),
			Page:           1,
		}
		if snaps == nil && tq.Order != (aggregate.ListOrder{Field: aggregate.OrderID}) {
			q.fail("order_by", problem.CodeInvalidChoice, "must be id: this gateway reads tenants page by page from Crayon (snapshots are off), which pages them by id")
		}
		// A token may ask Crayon for smaller pages than the caller's (a
		// capped Crayon); the caller's size stays in the fingerprint.
		callerSize := tq.PageSize
		// The page size is part of the fingerprint: a Crayon page number
		// means nothing with another page size.
		pg := pager{tokens, fmt.Sprintf("tenants|%d|%d|%s|%s|%s|%d|%s|%v", tq.OrganizationID, tq.PublisherID, tq.Type, tq.DomainPrefix, tq.Q, tq.PageSize, tq.Order.Field, tq.Order.Desc)}
		pos := pg.read(q, func(pos pagetoken.Position) bool {
			if snaps != nil {
				return pos.Gen != 0
			}
			return pos.Page >= 1 && pos.Size >= 0 && pos.Size <= tq.PageSize
		})
		if snaps == nil && pos.Page > 0 {
			tq.Page = pos.Page
			if pos.Size > 0 {
				tq.PageSize = pos.Size
			}
		}
		if err := q.err(); err != nil {
			return err
		}
		if snaps != nil {
			snap, err := snapshotFor(r, snaps, pos.Gen)
			if err != nil {
				return err
			}
			if err := snap.Missing(model.VendorCrayon); err != nil {
				return err // Crayon is required; GDAP only enriches
			}
			sources, _, _ := snap.Sources(time.Now(), model.VendorCrayon, model.VendorGDAP)
			page := snap.TenantPage(tq, pos.Offset, tq.PageSize)
			links := pageLinks{Total: total(page.Total)}
			if page.Next > 0 {
				links.Next = pg.next(pagetoken.Position{Offset: page.Next, Gen: snap.Gen})
			}
			if page.Prev >= 0 {
				links.Previous = pg.next(pagetoken.Position{Offset: page.Prev, Gen: snap.Gen})
			}
			return respondList(w, page.JSON, links, sources, snap.Has(model.VendorGDAP))
		}
		page, err := svc.List(r.Context(), tq)
		if err != nil {
			return err
		}
		resp := newList(page.Items, page.Sources, page.Complete)
		resp.TotalSize = total(int(page.Total)) // Crayon's TotalHits
		if next, size, ok := nextVendorPage(tq.Page, tq.PageSize, len(page.Items), page.Total); ok {
			pos := pagetoken.Position{Page: next}
			if size != callerSize {
				pos.Size = size
			}
			resp.NextPageToken = pg.next(pos)
		}
		if tq.Page > 1 {
			// The page before, in the page size this one was read in.
			resp.PreviousPageToken = pg.next(pagetoken.Position{Page: tq.Page - 1, Size: pos.Size})
		}
		return respond(w, http.StatusOK, resp)
	})
}

// nextVendorPage is the vendor page after page (of size) that returned got
// of total records. It counts by what the vendor returned: a vendor that
// served fewer than asked (a page-size cap) is asked next in pages of what
// it served, so the walk neither skips nor repeats records.
func nextVendorPage(page, size, got int, total int64) (next, nextSize int, ok bool) {
	offset := (page-1)*size + got
	if got == 0 || int64(offset) >= total {
		return 0, 0, false
	}
	nextSize = size
	if got != size {
		nextSize = min(got, size)
	}
	// Page numbers address multiples of the page size only.
	for offset%nextSize != 0 {
		nextSize = gcd(offset, nextSize)
	}
	return offset/nextSize + 1, nextSize, true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// handleGetTenant serves GET /v1/tenants/{id} (operationId getTenant). A
// tenant in the current snapshot is answered from its index; one the
// snapshot does not hold (newer than it) is read from the vendors.
func handleGetTenant(svc *aggregate.Tenants, snaps *aggregate.Snapshots) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id, err := tenantID(r)
		if err != nil {
			return err
		}
		if snaps != nil && !noCache(r) {
			if snap, err := snaps.Current(r.Context()); err == nil {
				if t, ok := snap.Tenant(id); ok {
					sources, _, _ := snap.Sources(time.Now(), model.VendorCrayon, model.VendorGDAP)
					return respond(w, http.StatusOK, withSources(t, sources, snap.Has(model.VendorGDAP)))
				}
			}
		}
		t, sources, complete, err := svc.Get(r.Context(), id)
		if err != nil {
			return err
		}
		return respond(w, http.StatusOK, withSources(t, sources, complete))
	})
}

// handleListAgreements serves GET /v1/tenants/{id}/agreements
// (operationId listAgreements): the tenant's consents; none means the
// customer has not consented.
func handleListAgreements(store AgreementStore) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id, err := tenantID(r)
		if err != nil {
			return err
		}
		if err := newQuery(r).err(); err != nil {
			return err
		}
		items, src, err := aggregate.One(r.Context(), model.VendorCrayon, func(ctx context.Context) ([]model.Agreement, error) {
			return store.Agreements(ctx, id)
		})
		if err != nil {
			return err
		}
		return respond(w, http.StatusOK, wholeList(items, oneSource(src), true))
	})
}

func agreementPath(tenantID, agreementID string) string {
	return "/v1/tenants/" + tenantID + "/agreements/" + agreementID
}

// handleGetAgreement serves GET /v1/tenants/{id}/agreements/{agreement_id}
// (operationId getAgreement). Crayon has no agreement ids and no lookup of
// one agreement, so this reads the tenant's agreements (one call; a tenant
// has a handful) and picks the one with the id.
func handleGetAgreement(store AgreementStore) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id, idErr := tenantID(r)
		if err := joinBadRequests(idErr, newQuery(r).err()); err != nil {
			return err
		}
		want := pathParam(r, "agreement_id")
		items, src, err := aggregate.One(r.Context(), model.VendorCrayon, func(ctx context.Context) ([]model.Agreement, error) {
			return store.Agreements(ctx, id)
		})
		if err != nil {
			return err
		}
		for _, a := range items {
			if a.ID == want {
				return respond(w, http.StatusOK, withSources(a, oneSource(src), true))
			}
		}
		return problem.NotFound("tenant " + id + " has no agreement with id " + want)
	})
}

// agreementRequest is the body of POST /v1/tenants/{id}/agreements. Strings
// (not time.Time) so every mistake gets its own field error.
type agreementRequest struct {
	AgreementType string  `json:"agreement_type"`
	FirstName     string  `json:"first_name"`
	LastName      string  `json:"last_name"`
	Email         string  `json:"email"`
	PhoneNumber   *string `json:"phone_number"`
	AgreedAt      string  `json:"agreed_at"`
}

// clockSkew tolerates callers whose clocks run slightly ahead.
const clockSkew = 5 * time.Minute

func (a agreementRequest) validate(now time.Time) (model.Agreement, error) {
	var errs []problem.FieldError
	fail := func(field, code, msg string) {
		errs = append(errs, problem.FieldError{Location: "body." + field, Code: code, Message: msg})
	}
	switch a.AgreementType {
	case model.AgreementMicrosoftCustomer, model.AgreementMicrosoftCloud:
	case "":
		fail("agreement_type", problem.CodeRequired, "is required")
	default:
		fail("agreement_type", problem.CodeInvalidChoice, "must be one of "+model.AgreementMicrosoftCustomer+", "+model.AgreementMicrosoftCloud)
	}
	text := func(field, v string, maxLen int) {
		switch {
		case strings.TrimSpace(v) == "":
			fail(field, problem.CodeRequired, "is required")
		case utf8.RuneCountInString(v) > maxLen:
			fail(field, problem.CodeTooLong, fmt.Sprintf("must be at most %d characters", maxLen))
		case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			fail(field, problem.CodeInvalidFormat, "must not contain control characters")
		}
	}
	text("first_name", a.FirstName, 100)
	text("last_name", a.LastName, 100)
	if strings.TrimSpace(a.Email) == "" {
		fail("email", problem.CodeRequired, "is required")
	} else if !plainEmail(a.Email) {
		fail("email", problem.CodeInvalidFormat, "must be one plain e-mail address such as name@example.com")
	}
	phone := ""
	if a.PhoneNumber != nil {
		phone = *a.PhoneNumber
		if len(phone) > 40 || strings.TrimSpace(phone) == "" || strings.ContainsFunc(phone, func(r rune) bool {
			return !strings.ContainsRune("0123456789+-() .", r)
		}) {
			fail("phone_number", problem.CodeInvalidFormat, "must be a phone number of digits, spaces, +, -, ( and ), at most 40 characters")
		}
	}
	var at time.Time
	if a.AgreedAt == "" {
		fail("agreed_at", problem.CodeRequired, "is required")
	} else if t, err := time.Parse(time.RFC3339, a.AgreedAt); err != nil {
		fail("agreed_at", problem.CodeInvalidFormat, "must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z")
	} else if t.After(now.Add(clockSkew)) {
		fail("agreed_at", problem.CodeOutOfRange, "must not be in the future")
	} else {
		at = t.UTC()
	}
	if len(errs) > 0 {
		return model.Agreement{}, problem.BadRequest("the agreement is not valid", errs...)
	}
	return model.Agreement{Type: a.AgreementType, FirstName: strings.TrimSpace(a.FirstName), LastName: strings.TrimSpace(a.LastName),
		Email: strings.TrimSpace(a.Email), PhoneNumber: strings.TrimSpace(phone), AgreedAt: at}, nil
}

// plainEmail accepts one bare address, no display name or angle brackets.
func plainEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == strings.TrimSpace(s) && len(s) <= 254
}

// handleAddAgreement serves POST /v1/tenants/{id}/agreements
// (operationId addAgreement): record a consent at Crayon.
func handleAddAgreement(store AgreementStore, w writeLog) http.Handler {
	return handle(func(rw http.ResponseWriter, r *http.Request) error {
		id, idErr := tenantID(r)
		var a model.Agreement
		_, err := decodeValid(rw, r, func(req *agreementRequest) (err error) {
			a, err = req.validate(time.Now())
			return err
		}, idErr)
		if err != nil {
			return err
		}
		pw, err := w.begin(r, opAddAgreement, "tenant/"+id, a)
		if err != nil {
			return err
		}
		got, src, err := aggregate.One(r.Context(), model.VendorCrayon, func(ctx context.Context) (model.Agreement, error) {
			return store.AddAgreement(ctx, id, a)
		})
		pw.done(src, http.StatusCreated, err)
		if err != nil {
			return err
		}
		rw.Header().Set("Location", agreementPath(id, got.ID))
		return respond(rw, http.StatusCreated, withSources(got, oneSource(src), true))
	})
}

// tenantID reads path.id: Crayon ids are positive integers.
func tenantID(r *http.Request) (string, error) {
	raw := chi.URLParam(r, "id")
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 || strconv.Itoa(n) != raw {
		return "", problem.BadRequest("the tenant id is not valid",
			problem.FieldError{Location: "path.id", Code: problem.CodeInvalidFormat, Message: "must be a positive integer"})
	}
	return raw, nil
}
