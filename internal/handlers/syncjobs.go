package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
)

// SyncJobs is the sync job service, as the handlers need it.
type SyncJobs interface {
	Validate(req syncjobs.StartRequest) error
	Start(ctx context.Context, req syncjobs.StartRequest) (syncjobs.Result, error)
	Get(ctx context.Context, id string) (syncjobs.Result, error)
	List(ctx context.Context, f store.SyncJobFilter) (syncjobs.Page, error)
}

func syncJobPath(id string) string { return "/v1/sync-jobs/" + id }

// handleStartSyncJob serves POST /v1/sync-jobs (operationId startSyncJob):
// 202 with the recorded job and its Location.
func handleStartSyncJob(svc SyncJobs, wl writeLog) http.Handler {
	type request struct {
		Kind        string `json:"kind"`
		CompanyID   string `json:"company_id"`
		NotifyEmail string `json:"notify_email"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		// The service validates the fields, here with the body's other
		// mistakes, and again in Start (ValidationError below).
		req, err := decodeValid(w, r, func(req *request) error {
			var ve *syncjobs.ValidationError
			if err := svc.Validate(syncjobs.StartRequest{Kind: req.Kind, CompanyID: req.CompanyID, NotifyEmail: req.NotifyEmail}); errors.As(err, &ve) {
				return syncValidation(ve)
			}
			return nil
		})
		if err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		// The audit record is written once the job is recorded and before
		// the vendor is called; refusals before that (bad input, conflict,
		// store down) never reach a vendor and are in the access log.
		res, err := svc.Start(r.Context(), syncjobs.StartRequest{
			Kind: req.Kind, CompanyID: req.CompanyID, NotifyEmail: req.NotifyEmail,
			RequestedBy: p.Subject, ClientID: p.ClientID,
			Audit: syncAuditor{wl: wl, r: r},
		})
		var ve *syncjobs.ValidationError
		if errors.As(err, &ve) {
			return syncValidation(ve)
		}
		if err != nil {
			return syncError(err, res)
		}
		w.Header().Set("Location", syncJobPath(res.Job.ID))
		return respond(w, http.StatusAccepted, withSources(newSyncJob(res.Job), res.Sources, res.Complete))
	})
}

// syncAuditor records a sync start in the request's audit trail.
type syncAuditor struct {
	wl writeLog
	r  *http.Request
}

func (a syncAuditor) Begin(_ context.Context, j store.SyncJob) (syncjobs.AuditRecord, error) {
	pw, err := a.wl.begin(a.r, opStartSync, "sync-job/"+j.ID, map[string]string{
		"kind": j.Kind, "company_id": j.CompanyID, "notify_email": j.NotifyEmail})
	if err != nil {
		return nil, err
	}
	return syncAuditRecord{pw}, nil
}

type syncAuditRecord struct{ pw *pendingWrite }

func (a syncAuditRecord) Finish(src aggregate.Source, err error) {
	a.pw.done(src, http.StatusAccepted, err)
}

// handleGetSyncJob serves GET /v1/sync-jobs/{id} (operationId getSyncJob).
func handleGetSyncJob(svc SyncJobs) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id := strings.ToLower(pathParam(r, "id"))
		var errs []error
		if !syncjobs.ValidID(id) {
			errs = append(errs, problem.BadRequest("the job id is not valid",
				problem.FieldError{Location: "path.id", Code: problem.CodeInvalidFormat, Message: "must be a sync job id (a UUID)"}))
		}
		if err := joinBadRequests(append(errs, newQuery(r).err())...); err != nil {
			return err
		}
		res, err := svc.Get(r.Context(), id)
		if err != nil {
			return syncError(err, res)
		}
		return respond(w, http.StatusOK, withSources(newSyncJob(res.Job), res.Sources, res.Complete))
	})
}

// syncJobListKinds are the kinds GET /v1/sync-jobs filters on: every kind
// POST /v1/sync-jobs starts, and GDAP onboardings.
var syncJobListKinds = append(slices.Clone(syncjobs.Kinds), model.SyncKindGDAPOnboarding)

// handleListSyncJobs serves GET /v1/sync-jobs (operationId listSyncJobs):
// newest (or oldest) first, paged by a cursor on the job sequence.
func handleListSyncJobs(svc SyncJobs, snaps *aggregate.Snapshots, tokens *pagetoken.Codec) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "kind", "company_id", "customer_id", "state", "order_by", "page_size", "page_token")
		f := store.SyncJobFilter{
			Kinds:     q.list("kind", syncJobListKinds...),
			CompanyID: strings.ToLower(strings.TrimSpace(q.str("company_id", 100))),
			States:    q.list("state", syncjobs.States...),
			Limit:     q.intRange("page_size", defaultPageSize, 1, maxPageSize),
		}
		order := q.orderBy(aggregate.OrderCreatedAt, []string{aggregate.OrderCreatedAt}, []string{aggregate.OrderCreatedAt})
		order.Desc = q.values.Get("order_by") == "" || order.Desc // newest first unless asked
		f.Oldest = !order.Desc
		var (
			custKey  aggregate.CustomerKey
			customer string
		)
		if v := q.values.Get("customer_id"); v != "" {
			var ok bool
			if custKey, ok = aggregate.ParseCustomerID(v); !ok {
				q.fail("customer_id", problem.CodeInvalidFormat, "must be a customer id as GET /v1/customers lists it (ms-<tenant id>, crayon-<id> or bokamera-<id>)")
			}
			customer = custKey.String()
		}
		// The token is only good for the same filters, order and page size.
		pg := pager{tokens, fmt.Sprintf("sync-jobs|%s|%s|%s|%s|%v|%d", strings.Join(f.Kinds, ","), f.CompanyID, customer, strings.Join(f.States, ","), f.Oldest, f.Limit)}
		// Offset carries the Seq of the last job of the previous page.
		seq := int64(pg.read(q, func(pos pagetoken.Position) bool { return pos.Offset >= 1 }).Offset)
		if f.Oldest {
			f.AfterSeq = seq
		} else {
			f.BeforeSeq = seq
		}
		if err := q.err(); err != nil {
			return err
		}
		if customer != "" {
			tenant := customerTenant(r.Context(), snaps, custKey)
			if tenant == "" {
				// No Microsoft tenant is known for it: no job is about it.
				resp := newList([]syncJob{}, []aggregate.Source{}, true)
				resp.TotalSize = total(0)
				return respond(w, http.StatusOK, resp)
			}
			f.CompanyIDs = []string{tenant}
		}
		page, err := svc.List(r.Context(), f)
		if err != nil {
			return syncError(err, syncjobs.Result{})
		}
		resp := newList(mapSlice(page.Items, newSyncJob), page.Sources, page.Complete)
		resp.TotalSize = total(page.Total)
		if page.More && len(page.Items) > 0 {
			last := page.Items[len(page.Items)-1]
			resp.NextPageToken = pg.next(pagetoken.Position{Offset: int(last.Seq)})
		}
		return respond(w, http.StatusOK, resp)
	})
}

// customerTenant is the Microsoft tenant of a customer id ("ms-<tenant>",
// or a Crayon record the current snapshot merged into one); "" when none
// is known (a booking person, a Crayon tenant without a Microsoft tenant).
func customerTenant(ctx context.Context, snaps *aggregate.Snapshots, key aggregate.CustomerKey) string {
	if key.Kind == aggregate.KeyMicrosoft {
		return key.ID
	}
	if snaps == nil || key.Kind != aggregate.KeyCrayon {
		return ""
	}
	snap, err := snaps.Current(ctx)
	if err != nil {
		return ""
	}
	c, ok := snap.CustomerOf(model.VendorRef{Vendor: model.VendorCrayon, ID: key.ID})
	if !ok {
		return ""
	}
	return strings.ToLower(c.MicrosoftTenantID)
}

// syncValidation reports the service's field mistakes as body.<field>.
func syncValidation(ve *syncjobs.ValidationError) error {
	fes := make([]problem.FieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		fes[i] = problem.FieldError{Location: "body." + f.Field, Code: f.Code, Message: f.Message}
	}
	return problem.BadRequest("the sync job request is not valid", fes...)
}

// syncError maps the service's errors; vendor errors keep the vendor
// mapping, with the recorded (failed) job named and the source attached.
func syncError(err error, res syncjobs.Result) error {
	var ce *syncjobs.ConflictError
	switch {
	case errors.As(err, &ce):
		detail := "a sync of this kind is already active for this company; wait for it to finish"
		if ce.Active.ID != "" {
			detail = fmt.Sprintf("a sync of kind %s for this company is already %s: %s", ce.Active.Kind, ce.Active.State, syncJobPath(ce.Active.ID))
		}
		p := problem.New(http.StatusConflict, "sync-running", "Conflict", detail)
		if ce.Active.ID != "" {
			p.Extensions = map[string]any{"blocking_job_id": ce.Active.ID}
		}
		p.Err = err
		return p
	case errors.Is(err, syncjobs.ErrNotFound):
		return problem.NotFound("no sync job with this id")
	case errors.Is(err, syncjobs.ErrStore):
		return storeUnavailable("the job store is unavailable; nothing was sent to a vendor; retry later", err)
	}
	p := toProblem(err)
	if res.Job.ID != "" {
		p.Detail = strings.TrimSpace(p.Detail + fmt.Sprintf(" (recorded as failed: %s)", syncJobPath(res.Job.ID)))
	}
	if len(res.Sources) > 0 {
		p.Sources = res.Sources
	}
	return p
}
