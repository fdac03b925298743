package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
)

// Audited operations, as recorded by writeLog.begin and filtered on by
// GET /v1/audit-events: every write names its operation by one of these.
const (
	opAddAgreement         = "agreements.add"
	opRegisterLicense      = "licenses.register"
	opUnregisterLicense    = "licenses.unregister"
	opStartSync            = "sync_jobs.start"
	opPublishTemplate      = "gdap.publish_template"
	opCreateSecurityGroups = "gdap.create_security_groups"
	opOnboard              = "gdap.onboard"
)

var auditedOperations = []string{opAddAgreement, opRegisterLicense, opUnregisterLicense, opStartSync,
	opPublishTemplate, opCreateSecurityGroups, opOnboard}

// auditCounter is a store that can count the events a filter matches.
type auditCounter interface {
	CountAudit(ctx context.Context, f store.AuditFilter) (int, error)
}

// handleListAuditEvents serves GET /v1/audit-events (operationId
// listAuditEvents): the trail of writes, oldest (or newest) first, from
// the store.
func handleListAuditEvents(events AuditStore, tokens *pagetoken.Codec) http.Handler {
	type response struct {
		Items         []auditEvent `json:"items"`
		NextPageToken string       `json:"next_page_token,omitempty"`
		TotalSize     *int         `json:"total_size,omitempty"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "from", "to", "subject", "operation", "order_by", "page_size", "page_token")
		f := store.AuditFilter{
			From:       q.time("from"),
			To:         q.time("to"),
			Subject:    q.str("subject", 255),
			Operations: q.list("operation", auditedOperations...),
			Newest:     q.orderBy("time", []string{"time"}, []string{"time"}).Desc,
			Limit:      q.intRange("page_size", defaultPageSize, 1, maxPageSize),
		}
		if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
			q.fail("to", problem.CodeInvalidCombination, "must be later than from")
		}
		pg := pager{tokens, fmt.Sprintf("audit|%d|%d|%s|%s|%v|%d", f.From.UnixNano(), f.To.UnixNano(), f.Subject, strings.Join(f.Operations, ","), f.Newest, f.Limit)}
		// Offset carries the Seq of the last event of the previous page.
		seq := int64(pg.read(q, func(pos pagetoken.Position) bool { return pos.Offset >= 1 }).Offset)
		if f.Newest {
			f.BeforeSeq = seq
		} else {
			f.AfterSeq = seq
		}
		if err := q.err(); err != nil {
			return err
		}
		size := f.Limit
		f.Limit++ // one more tells whether there is a next page
		items, err := events.ListAudit(r.Context(), f)
		if err != nil {
			return storeUnavailable("the gateway's database is unavailable; retry later", err)
		}
		var resp response
		if c, ok := events.(auditCounter); ok {
			n, err := c.CountAudit(r.Context(), f)
			if err != nil {
				return storeUnavailable("the gateway's database is unavailable; retry later", err)
			}
			resp.TotalSize = total(n)
		}
		if len(items) > size {
			items = items[:size]
			resp.NextPageToken = pg.next(pagetoken.Position{Offset: int(items[size-1].Seq)})
		}
		resp.Items = mapSlice(items, newAuditEvent)
		return respond(w, http.StatusOK, resp)
	})
}
